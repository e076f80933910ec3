package dev.burrow.identity;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.math.ec.rfc8032.Ed25519;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This node's identity: an Ed25519 key pair and the node certificate that binds it to a name.
 *
 * <p>On disk, in the state directory (0700): {@value #KEY_FILE} (PKCS#8 PEM, 0600, refused when
 * group or others can access it) and {@value #CERT_FILE} (PEM chain: node certificate first, then
 * the fleet CA certificate when CA-issued). The key is created on first run. When there is no
 * certificate, or the self-signed one is about to expire, a self-signed certificate is (re)made;
 * a CA-issued certificate is only replaced by {@link #installCertificate}.
 *
 * <p>The private key is never logged and {@link #toString()} shows only the node ID.
 */
public final class NodeIdentity {
    private static final Logger log = LoggerFactory.getLogger(NodeIdentity.class);

    public static final String KEY_FILE = "node.key";
    public static final String CERT_FILE = "node.crt";
    /** Validity of a self-signed certificate: trust in key-only mode is by node ID, so this only bounds staleness. */
    public static final Duration SELF_SIGNED_VALIDITY = Duration.ofDays(365);
    /** A self-signed certificate with less than this left is renewed on load. */
    public static final Duration SELF_SIGNED_RENEW_BEFORE = Duration.ofDays(30);
    /** Backdating of notBefore, to tolerate peers whose clocks run a little behind. */
    public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);

    private final Path stateDir;
    private final KeyPair keyPair;
    private final NodeKey nodeKey;
    private volatile List<X509Certificate> chain;
    private volatile NodeCertificate certificate;

    private NodeIdentity(Path stateDir, KeyPair keyPair, List<X509Certificate> chain) {
        this.stateDir = stateDir;
        this.keyPair = keyPair;
        this.nodeKey = Ed25519Keys.fromPublicKey(keyPair.getPublic());
        setChain(chain);
    }

    /** Loads the identity from {@code stateDir}, creating the key (and a self-signed certificate) when missing. */
    public static NodeIdentity loadOrCreate(Path stateDir) throws IOException {
        return loadOrCreate(stateDir, null, Clock.systemUTC());
    }

    /**
     * Loads or creates the identity.
     *
     * @param nameOrNull name for a newly made self-signed certificate; null for one derived from the host name
     */
    public static NodeIdentity loadOrCreate(Path stateDir, String nameOrNull, Clock clock) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        Path keyFile = stateDir.resolve(KEY_FILE);
        KeyPair keyPair;
        if (Files.exists(keyFile)) {
            keyPair = readKey(keyFile);
        } else {
            KeyPair fresh = Ed25519Keys.generate();
            try {
                SecureFiles.createAtomically(
                        keyFile,
                        Pem.encodePrivateKey(fresh.getPrivate()).getBytes(StandardCharsets.US_ASCII),
                        SecureFiles.SECRET_PERMS);
                keyPair = fresh;
                log.info("created node identity {} in {}", Ed25519Keys.fromPublicKey(keyPair.getPublic()), stateDir);
            } catch (FileAlreadyExistsException raced) {
                keyPair = readKey(keyFile); // another process created it first: use theirs
            }
        }
        NodeKey nodeKey = Ed25519Keys.fromPublicKey(keyPair.getPublic());
        Path certFile = stateDir.resolve(CERT_FILE);
        List<X509Certificate> chain = null;
        if (Files.exists(certFile)) {
            try {
                chain = Pem.readCertificates(certFile);
            } catch (CertificateException e) {
                throw new IOException(certFile + ": cannot read certificate: " + e.getMessage(), e);
            }
            NodeCertificate leaf;
            try {
                leaf = NodeCertificate.parse(chain.get(0));
            } catch (NodeCertificate.ProfileException e) {
                throw new IOException(certFile + ": not a node certificate: " + e.getMessage());
            }
            if (!leaf.nodeKey().equals(nodeKey)) {
                throw new IOException(certFile + " belongs to node " + leaf.nodeKey() + ", not to this key (" + nodeKey
                        + "); remove it or restore the matching " + KEY_FILE);
            }
            Instant now = clock.instant();
            if (leaf.selfSigned() && leaf.notAfter().isBefore(now.plus(SELF_SIGNED_RENEW_BEFORE))) {
                chain = null; // renew below
            } else if (!leaf.selfSigned() && leaf.notAfter().isBefore(now)) {
                log.warn(
                        "node certificate in {} expired at {}; enrol again to get a new one",
                        certFile,
                        leaf.notAfter());
            }
        }
        if (chain == null) {
            String name = nameOrNull != null ? CertificateProfile.requireValidName(nameOrNull) : defaultName();
            Instant now = clock.instant();
            X509Certificate self = NodeCertificate.selfSigned(
                    nodeKey,
                    keyPair.getPrivate(),
                    name,
                    Set.of(),
                    now.minus(CLOCK_SKEW),
                    now.plus(SELF_SIGNED_VALIDITY));
            chain = List.of(self);
            SecureFiles.writeAtomically(
                    certFile,
                    Pem.encodeCertificates(chain).getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.PUBLIC_PERMS);
        }
        return new NodeIdentity(stateDir, keyPair, chain);
    }

    /** Loads an existing identity; fails when there is none. */
    public static NodeIdentity load(Path stateDir) throws IOException {
        if (!Files.exists(stateDir.resolve(KEY_FILE))) {
            throw new IOException(
                    "no node identity in " + stateDir + " (run 'burrow id --state " + stateDir + "' to create one)");
        }
        return loadOrCreate(stateDir);
    }

    /** An identity that lives only in memory (tests, ephemeral nodes); the chain's leaf must hold the key. */
    public static NodeIdentity inMemory(KeyPair keyPair, List<X509Certificate> chain) {
        return new NodeIdentity(null, keyPair, chain);
    }

    /** A fresh in-memory identity with a self-signed certificate. */
    public static NodeIdentity ephemeral(String name) {
        KeyPair kp = Ed25519Keys.generate();
        Instant now = Instant.now();
        X509Certificate self = NodeCertificate.selfSigned(
                Ed25519Keys.fromPublicKey(kp.getPublic()),
                kp.getPrivate(),
                name,
                Set.of(),
                now.minus(CLOCK_SKEW),
                now.plus(SELF_SIGNED_VALIDITY));
        return new NodeIdentity(null, kp, List.of(self));
    }

    private static KeyPair readKey(Path keyFile) throws IOException {
        SecureFiles.requireOwnerOnly(keyFile);
        PrivateKey priv = Pem.readPrivateKey(keyFile);
        if (!"EdDSA".equals(priv.getAlgorithm()) && !"Ed25519".equals(priv.getAlgorithm())) {
            throw new IOException(keyFile + " is not an Ed25519 key (" + priv.getAlgorithm() + ")");
        }
        return new KeyPair(derivePublic(priv), priv);
    }

    /** Recomputes the public key from an Ed25519 private key (PKCS#8 v1 files do not store it). */
    private static PublicKey derivePublic(PrivateKey priv) throws IOException {
        try {
            PrivateKeyInfo info = PrivateKeyInfo.getInstance(priv.getEncoded());
            byte[] seed = ASN1OctetString.getInstance(info.parsePrivateKey()).getOctets();
            if (seed.length != 32) {
                throw new IOException("Ed25519 private key has the wrong length");
            }
            byte[] pub = new byte[NodeKey.LENGTH];
            Ed25519.generatePublicKey(seed, 0, pub, 0);
            Arrays.fill(seed, (byte) 0);
            return Ed25519Keys.toPublicKey(NodeKey.of(pub));
        } catch (RuntimeException e) {
            throw new IOException(
                    "malformed Ed25519 private key (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static String defaultName() {
        String host = null;
        try {
            host = System.getenv("HOSTNAME");
            if (host == null || host.isBlank()) {
                host = InetAddress.getLocalHost().getHostName();
            }
        } catch (IOException | RuntimeException e) {
            // fall through to the fallback name
        }
        return CertificateProfile.sanitizeName(host, "node");
    }

    private void setChain(List<X509Certificate> newChain) {
        if (newChain == null || newChain.isEmpty()) {
            throw new IllegalArgumentException("a certificate chain needs at least the node certificate");
        }
        NodeCertificate leaf;
        try {
            leaf = NodeCertificate.parse(newChain.get(0));
        } catch (NodeCertificate.ProfileException e) {
            throw new IllegalArgumentException("not a node certificate: " + e.getMessage());
        }
        if (!leaf.nodeKey().equals(nodeKey)) {
            throw new IllegalArgumentException("certificate is for node " + leaf.nodeKey() + ", not " + nodeKey);
        }
        this.chain = List.copyOf(newChain);
        this.certificate = leaf;
    }

    /**
     * Replaces the certificate (e.g. after enrolment) in memory and, for a stored identity, on disk.
     *
     * @throws IllegalArgumentException when the leaf is not a node certificate for this key
     */
    public void installCertificate(List<X509Certificate> newChain) throws IOException {
        synchronized (this) {
            setChain(newChain);
            if (stateDir != null) {
                SecureFiles.writeAtomically(
                        stateDir.resolve(CERT_FILE),
                        Pem.encodeCertificates(chain).getBytes(StandardCharsets.US_ASCII),
                        SecureFiles.PUBLIC_PERMS);
            }
        }
        log.info("installed node certificate {}", certificate);
    }

    /** Signs {@code message} with the node key (Ed25519, 64 bytes). */
    public byte[] sign(byte[] message) {
        try {
            Signature s = Signature.getInstance("Ed25519");
            s.initSign(keyPair.getPrivate());
            s.update(message);
            return s.sign();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 signing failed", e);
        }
    }

    public NodeKey nodeKey() {
        return nodeKey;
    }

    public PublicKey publicKey() {
        return keyPair.getPublic();
    }

    /** The private key, for TLS key managers only. Never log it. */
    public PrivateKey privateKey() {
        return keyPair.getPrivate();
    }

    /** The current node certificate (parsed). */
    public NodeCertificate certificate() {
        return certificate;
    }

    /** The current chain: node certificate first. */
    public List<X509Certificate> certificateChain() {
        return chain;
    }

    /** The state directory, or null for an in-memory identity. */
    public Path stateDir() {
        return stateDir;
    }

    @Override
    public String toString() {
        return "NodeIdentity[" + nodeKey + "]";
    }
}
