package dev.burrow.identity.testing;

import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.Pem;
import dev.burrow.identity.ca.FleetCa;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Set;

/**
 * Test fixtures shared with other modules' tests (published in the test-jar): a fleet CA in a
 * temporary directory, CA-issued and self-signed node identities, and verifiers trusting them.
 *
 * <pre>
 * TestIdentities ids = TestIdentities.create(tempDir);
 * NodeIdentity alice = ids.node("alice", "dev");     // CA-issued, tag dev
 * NodeIdentity bob = ids.selfSignedNode("bob");      // key-only
 * NodeVerifier v = ids.verifier();                   // trusts the CA
 * </pre>
 */
public final class TestIdentities {
    /** Validity of node certificates made here. */
    public static final Duration NODE_VALIDITY = Duration.ofDays(30);

    private final Path root;
    private final FleetCa ca;

    private TestIdentities(Path root, FleetCa ca) {
        this.root = root;
        this.ca = ca;
    }

    /** A new CA named {@code test-ca} in {@code root/ca}. */
    public static TestIdentities create(Path root) {
        return create(root, "test-ca");
    }

    /** A new CA with the given name in {@code root/<caName>}. */
    public static TestIdentities create(Path root, String caName) {
        try {
            return new TestIdentities(root, FleetCa.init(root.resolve(caName), caName, Clock.systemUTC()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public FleetCa ca() {
        return ca;
    }

    public X509Certificate caCertificate() {
        return ca.certificate();
    }

    public Path root() {
        return root;
    }

    /** A CA-issued node stored in {@code root/nodes/<name>}. */
    public NodeIdentity node(String name, String... tags) {
        try {
            NodeIdentity id = NodeIdentity.loadOrCreate(root.resolve("nodes").resolve(name), name, Clock.systemUTC());
            X509Certificate cert = ca.issue(id.nodeKey(), name, Set.of(tags), NODE_VALIDITY);
            id.installCertificate(ca.chainFor(cert));
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A node with only its self-signed certificate, stored in {@code root/nodes/<name>}. */
    public NodeIdentity selfSignedNode(String name) {
        try {
            return NodeIdentity.loadOrCreate(root.resolve("nodes").resolve(name), name, Clock.systemUTC());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A certificate for {@code key} issued by this CA as if it were {@code issuedAt} (for expiry tests). */
    public X509Certificate issueAt(Instant issuedAt, NodeKey key, String name, Duration validity, String... tags) {
        try {
            FleetCa past = FleetCa.load(ca.dir(), Clock.fixed(issuedAt, ZoneOffset.UTC));
            return past.issue(key, name, Set.of(tags), validity);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CA private key (tests that must craft off-profile certificates). */
    public PrivateKey caPrivateKey() {
        try {
            return Pem.readPrivateKey(ca.dir().resolve(FleetCa.KEY_FILE));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A verifier trusting this CA only. */
    public NodeVerifier verifier() {
        return NodeVerifier.builder().trustCa(ca.certificate()).build();
    }

    /** A verifier trusting this CA, with a clock. */
    public NodeVerifier verifier(Clock clock) {
        return NodeVerifier.builder().trustCa(ca.certificate()).clock(clock).build();
    }

    /** A fresh in-memory key pair with a self-signed certificate. */
    public static NodeIdentity ephemeral(String name) {
        return NodeIdentity.ephemeral(name);
    }

    /** An in-memory identity with an arbitrary chain (the leaf must hold the key). */
    public static NodeIdentity withChain(KeyPair kp, List<X509Certificate> chain) {
        return NodeIdentity.inMemory(kp, chain);
    }

    /** A random valid node key (no private key kept). */
    public static NodeKey randomNodeKey() {
        return Ed25519Keys.fromPublicKey(Ed25519Keys.generate().getPublic());
    }
}
