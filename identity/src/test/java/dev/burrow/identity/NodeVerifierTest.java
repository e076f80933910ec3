package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.PeerVerificationException.Reason;
import dev.burrow.identity.testing.TestIdentities;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Date;
import java.util.Set;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeVerifierTest {
    @TempDir
    Path tmp;

    TestIdentities ids;
    NodeIdentity alice;

    @BeforeEach
    void setUp() {
        ids = TestIdentities.create(tmp);
        alice = ids.node("alice", "dev", "eu");
    }

    static X509Certificate[] chain(NodeIdentity id) {
        return id.certificateChain().toArray(X509Certificate[]::new);
    }

    static void assertReason(ThrowingCallable call, Reason reason) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(
                        PeerVerificationException.class,
                        e -> assertThat(e.reason()).isEqualTo(reason));
    }

    @Test
    void caIssuedCertificateCarriesNameAndTags() throws Exception {
        VerifiedPeer p = ids.verifier().verify(chain(alice), null);
        assertThat(p.nodeKey()).isEqualTo(alice.nodeKey());
        assertThat(p.name()).isEqualTo("alice");
        assertThat(p.tags()).containsExactlyInAnyOrder("dev", "eu");
        assertThat(p.caIssued()).isTrue();
        assertThat(p.notAfter()).isAfter(Instant.now());
        // the leaf alone is enough: issuers come from configuration
        assertThat(ids.verifier()
                        .verify(new X509Certificate[] {chain(alice)[0]}, alice.nodeKey())
                        .caIssued())
                .isTrue();
    }

    @Test
    void wrongExpectedKeyIsKeyMismatch() {
        assertReason(() -> ids.verifier().verify(chain(alice), TestIdentities.randomNodeKey()), Reason.KEY_MISMATCH);
    }

    @Test
    void foreignCaIsUntrusted() {
        TestIdentities foreign = TestIdentities.create(tmp, "other-ca");
        NodeIdentity mallory = foreign.node("mallory", "dev");
        assertReason(() -> ids.verifier().verify(chain(mallory), null), Reason.UNTRUSTED_ISSUER);
    }

    @Test
    void sameNameForeignCaIsBadSignature() {
        // A different CA that happens to use our CA's name: its signature does not verify.
        TestIdentities impostor = TestIdentities.create(tmp.resolve("x"), "test-ca");
        NodeIdentity mallory = impostor.node("mallory");
        assertReason(() -> ids.verifier().verify(chain(mallory), null), Reason.BAD_SIGNATURE);
    }

    @Test
    void expiredAndNotYetValid() {
        Instant now = Instant.now();
        X509Certificate expired =
                ids.issueAt(now.minus(Duration.ofDays(10)), alice.nodeKey(), "alice", Duration.ofDays(1));
        assertReason(() -> ids.verifier().verify(new X509Certificate[] {expired}, null), Reason.EXPIRED);

        X509Certificate future =
                ids.issueAt(now.plus(Duration.ofDays(10)), alice.nodeKey(), "alice", Duration.ofDays(1));
        assertReason(() -> ids.verifier().verify(new X509Certificate[] {future}, null), Reason.NOT_YET_VALID);

        // the injected clock decides
        Clock later = Clock.fixed(now.plus(Duration.ofDays(60)), ZoneOffset.UTC);
        assertReason(() -> ids.verifier(later).verify(chain(alice), null), Reason.EXPIRED);
    }

    @Test
    void selfSignedNeedsPinOrExpectedKey() throws Exception {
        NodeIdentity bob = ids.selfSignedNode("bob");
        assertReason(() -> ids.verifier().verify(chain(bob), null), Reason.UNTRUSTED_ISSUER);

        VerifiedPeer byExpected = ids.verifier().verify(chain(bob), bob.nodeKey());
        assertThat(byExpected.caIssued()).isFalse();
        assertThat(byExpected.name()).as("a self-signed name is never trusted").isNull();
        assertThat(byExpected.tags()).isEmpty();

        NodeVerifier pinned = NodeVerifier.builder().pin(bob.nodeKey()).build();
        assertThat(pinned.verify(chain(bob), null).nodeKey()).isEqualTo(bob.nodeKey());
        assertReason(() -> pinned.verify(chain(ids.selfSignedNode("carol")), null), Reason.UNTRUSTED_ISSUER);

        NodeVerifier open = NodeVerifier.builder().acceptAnySelfSigned(true).build();
        assertThat(open.verify(chain(bob), null).name()).isNull();
    }

    @Test
    void selfSignedClaimingTagsGetsNone() throws Exception {
        NodeIdentity eve = NodeIdentity.ephemeral("eve");
        X509Certificate fake = NodeCertificate.selfSigned(
                eve.nodeKey(),
                eve.privateKey(),
                "alice",
                Set.of("admin"),
                Instant.now().minusSeconds(60),
                Instant.now().plusSeconds(3600));
        VerifiedPeer p = NodeVerifier.builder()
                .acceptAnySelfSigned(true)
                .trustCa(ids.caCertificate())
                .build()
                .verify(new X509Certificate[] {fake}, null);
        assertThat(p.caIssued()).isFalse();
        assertThat(p.name()).isNull();
        assertThat(p.tags()).isEmpty();
    }

    @Test
    void revokedByNodeAndBySerialWithReload() throws Exception {
        Path file = tmp.resolve("revoked.txt");
        Files.writeString(file, "# none yet\n");
        MutableClock clock = new MutableClock(Instant.now());
        RevocationList list = RevocationList.load(file, clock);
        NodeVerifier v = NodeVerifier.builder()
                .trustCa(ids.caCertificate())
                .revocations(list)
                .clock(clock)
                .build();
        assertThat(v.verify(chain(alice), null).name()).isEqualTo("alice");

        Files.writeString(file, "node " + alice.nodeKey().nodeId() + "  # stolen laptop\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
        clock.advance(RevocationList.CHECK_INTERVAL.plusSeconds(1));
        assertReason(() -> v.verify(chain(alice), null), Reason.REVOKED);

        Files.writeString(file, "serial " + alice.certificate().serialHex() + "\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
        clock.advance(RevocationList.CHECK_INTERVAL.plusSeconds(1));
        assertReason(() -> v.verify(chain(alice), null), Reason.REVOKED);

        // a new certificate for the same key (different serial) is fine again
        X509Certificate fresh = ids.ca().issue(alice.nodeKey(), "alice", Set.of(), Duration.ofDays(1));
        assertThat(v.verify(new X509Certificate[] {fresh}, null).caIssued()).isTrue();

        // a bad edit keeps the previous list
        Files.writeString(file, "garbage line\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(15)));
        clock.advance(RevocationList.CHECK_INTERVAL.plusSeconds(1));
        assertReason(() -> v.verify(chain(alice), null), Reason.REVOKED);
    }

    @Test
    void malformedRevocationFileFailsStartup() throws Exception {
        Path file = tmp.resolve("bad.txt");
        Files.writeString(file, "node not-a-node-id\n");
        assertThatThrownBy(() -> RevocationList.load(file, Clock.systemUTC())).hasMessageContaining("bad.txt:1");
        assertThatThrownBy(() -> RevocationList.load(tmp.resolve("missing"), Clock.systemUTC()))
                .isInstanceOf(java.io.IOException.class);
    }

    @Test
    void tamperedSignatureIsBadSignature() throws Exception {
        byte[] der = alice.certificateChain().get(0).getEncoded();
        der[der.length - 1] ^= 1; // last byte of the signature
        X509Certificate tampered = (X509Certificate)
                CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
        assertReason(() -> ids.verifier().verify(new X509Certificate[] {tampered}, null), Reason.BAD_SIGNATURE);

        NodeIdentity bob = ids.selfSignedNode("bob");
        byte[] der2 = bob.certificateChain().get(0).getEncoded();
        der2[der2.length - 1] ^= 1;
        X509Certificate tampered2 = (X509Certificate)
                CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der2));
        assertReason(
                () -> NodeVerifier.builder().pin(bob.nodeKey()).build().verify(new X509Certificate[] {tampered2}, null),
                Reason.BAD_SIGNATURE);
    }

    @Test
    void invalidKeysAreRefusedBeforeSignatureWork() throws Exception {
        for (byte[] bad : BadKeys.all()) {
            X509Certificate cert = craft(ids.caPrivateKey(), rawEd25519Spki(bad), false, NodeKey.of(bad));
            assertReason(() -> ids.verifier().verify(new X509Certificate[] {cert}, null), Reason.INVALID_KEY);
        }
        // an RSA/EC subject key is not a node key
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        X509Certificate ec = craft(
                ids.caPrivateKey(),
                SubjectPublicKeyInfo.getInstance(g.generateKeyPair().getPublic().getEncoded()),
                false,
                alice.nodeKey());
        assertReason(() -> ids.verifier().verify(new X509Certificate[] {ec}, null), Reason.INVALID_KEY);
        // wrong key length inside an Ed25519 SPKI: the JDK refuses to even parse such a certificate
        assertThatThrownBy(() -> craft(
                        ids.caPrivateKey(),
                        new SubjectPublicKeyInfo(
                                new AlgorithmIdentifier(new ASN1ObjectIdentifier(Ed25519Keys.OID)), new byte[31]),
                        false,
                        alice.nodeKey()))
                .isInstanceOf(java.security.cert.CertificateException.class);
        assertThat(Ed25519Keys.rawFromSubjectPublicKeyInfo(new SubjectPublicKeyInfo(
                                new AlgorithmIdentifier(new ASN1ObjectIdentifier(Ed25519Keys.OID)), new byte[33])
                        .getEncoded()))
                .isNull();
    }

    @Test
    void malformedChains() throws Exception {
        NodeVerifier v = ids.verifier();
        assertReason(() -> v.verify(null, null), Reason.MALFORMED);
        assertReason(() -> v.verify(new X509Certificate[0], null), Reason.MALFORMED);
        X509Certificate c = chain(alice)[0];
        assertReason(() -> v.verify(new X509Certificate[] {c, c, c, c, c}, null), Reason.MALFORMED);
        // CA flag on a leaf
        X509Certificate caLeaf =
                craft(ids.caPrivateKey(), rawEd25519Spki(alice.nodeKey().bytes()), true, alice.nodeKey());
        assertReason(() -> v.verify(new X509Certificate[] {caLeaf}, null), Reason.MALFORMED);
        // SAN node ID that is not the key
        X509Certificate lying = craft(
                ids.caPrivateKey(), rawEd25519Spki(alice.nodeKey().bytes()), false, TestIdentities.randomNodeKey());
        assertReason(() -> v.verify(new X509Certificate[] {lying}, null), Reason.MALFORMED);
        // the CA certificate itself is not a node certificate
        assertReason(() -> v.verify(new X509Certificate[] {ids.caCertificate()}, null), Reason.MALFORMED);
    }

    @Test
    void trustCaRefusesNonCaCertificates() {
        assertThatThrownBy(() -> NodeVerifier.builder().trustCa(chain(alice)[0]))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeVerifier.builder().pin(NodeKey.of(new byte[32])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void revocationListOfFixedSets() throws Exception {
        NodeVerifier v = NodeVerifier.builder()
                .trustCa(ids.caCertificate())
                .revocations(
                        RevocationList.of(Set.of(), Set.of(alice.certificate().serial())))
                .build();
        assertReason(() -> v.verify(chain(alice), null), Reason.REVOKED);
        assertThat(RevocationList.of(Set.of(alice.nodeKey()), Set.of()).isRevoked(alice.nodeKey(), BigInteger.ONE))
                .isTrue();
    }

    static SubjectPublicKeyInfo rawEd25519Spki(byte[] raw) {
        return new SubjectPublicKeyInfo(new AlgorithmIdentifier(new ASN1ObjectIdentifier(Ed25519Keys.OID)), raw);
    }

    /** A node-profile certificate with an arbitrary subject key, signed by the CA key. */
    private X509Certificate craft(PrivateKey caKey, SubjectPublicKeyInfo spki, boolean isCa, NodeKey sanKey)
            throws Exception {
        X509CertificateHolder ca = new X509CertificateHolder(ids.caCertificate().getEncoded());
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new X509v3CertificateBuilder(
                ca.getSubject(),
                BigInteger.TEN,
                Date.from(now.minusSeconds(60)),
                Date.from(now.plusSeconds(3600)),
                NodeCertificate.cn("crafted"),
                spki);
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
        b.addExtension(
                Extension.subjectAlternativeName,
                false,
                new GeneralNames(new GeneralName(
                        GeneralName.uniformResourceIdentifier, CertificateProfile.NODE_URI_PREFIX + sanKey.nodeId())));
        return new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("Ed25519").build(caKey)));
    }

    /** A clock tests can move. */
    static final class MutableClock extends Clock {
        private volatile Instant now;

        MutableClock(Instant start) {
            now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
