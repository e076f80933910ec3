package dev.burrow.identity;

import static dev.burrow.identity.NodeVerifierTest.assertReason;
import static dev.burrow.identity.NodeVerifierTest.chain;
import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.PeerVerificationException.Reason;
import dev.burrow.identity.testing.TestIdentities;
import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The verifier remembers only what a certificate's bytes decide; every policy check runs on every call. */
class VerifiedCertificateMemoTest {
    @TempDir
    Path tmp;

    TestIdentities ids;
    NodeIdentity alice;

    @BeforeEach
    void setUp() {
        ids = TestIdentities.create(tmp);
        alice = ids.node("alice", "dev");
    }

    private static X509Certificate lastByteFlipped(X509Certificate cert) throws Exception {
        byte[] der = cert.getEncoded();
        der[der.length - 1] ^= 1; // the signature's last byte
        return (X509Certificate)
                CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(der));
    }

    @Test
    void aCertificateIsCheckedOnceAndTheSignatureIsRemembered() throws Exception {
        NodeVerifier v = NodeVerifier.builder().trustCa(ids.caCertificate()).build();
        VerifiedPeer first = v.verify(chain(alice), null);
        VerifiedCertificateMemo.Checked checked = v.memo().get(chain(alice)[0].getEncoded());
        assertThat(checked).isNotNull();
        assertThat(checked.signedBy())
                .as("the CA key the signature verified with")
                .isNotNull();

        VerifiedPeer again = v.verify(chain(alice), alice.nodeKey());
        assertThat(again).isEqualTo(first);
        assertThat(v.memo().size()).isEqualTo(1);
    }

    @Test
    void validityAndRevocationAreJudgedOnEveryCall() throws Exception {
        NodeVerifierTest.MutableClock clock = new NodeVerifierTest.MutableClock(Instant.now());
        X509Certificate shortLived = ids.ca().issue(alice.nodeKey(), "alice", java.util.Set.of(), Duration.ofHours(1));
        NodeVerifier v =
                NodeVerifier.builder().trustCa(ids.caCertificate()).clock(clock).build();
        assertThat(v.verify(new X509Certificate[] {shortLived}, null).caIssued())
                .isTrue();
        clock.advance(Duration.ofHours(2));
        assertReason(() -> v.verify(new X509Certificate[] {shortLived}, null), Reason.EXPIRED);
    }

    @Test
    void trustAndTheExpectedKeyAreNotRemembered() throws Exception {
        NodeIdentity bob = ids.selfSignedNode("bob");
        NodeVerifier v = NodeVerifier.builder().build();
        // trusted because bob is the node the caller dialled ...
        assertThat(v.verify(chain(bob), bob.nodeKey()).caIssued()).isFalse();
        // ... which says nothing about a caller that expects another node or none
        assertReason(() -> v.verify(chain(bob), null), Reason.UNTRUSTED_ISSUER);
        assertReason(() -> v.verify(chain(bob), alice.nodeKey()), Reason.KEY_MISMATCH);
    }

    @Test
    void aTamperedCopyOfARememberedCertificateIsRefused() throws Exception {
        NodeVerifier v = NodeVerifier.builder().trustCa(ids.caCertificate()).build();
        v.verify(chain(alice), null);
        X509Certificate tampered = lastByteFlipped(chain(alice)[0]);
        assertReason(() -> v.verify(new X509Certificate[] {tampered}, null), Reason.BAD_SIGNATURE);
        // a failed signature is never remembered as good
        assertReason(() -> v.verify(new X509Certificate[] {tampered}, null), Reason.BAD_SIGNATURE);
        assertThat(v.memo().get(tampered.getEncoded()).signedBy()).isNull();

        NodeIdentity bob = ids.selfSignedNode("bob");
        NodeVerifier pinned = NodeVerifier.builder().pin(bob.nodeKey()).build();
        pinned.verify(chain(bob), null);
        X509Certificate tamperedSelf = lastByteFlipped(chain(bob)[0]);
        assertReason(() -> pinned.verify(new X509Certificate[] {tamperedSelf}, null), Reason.BAD_SIGNATURE);
    }

    private static X509Certificate[] tooLong(X509Certificate leaf) {
        X509Certificate[] c = new X509Certificate[CertificateProfile.MAX_CHAIN_LENGTH + 1];
        java.util.Arrays.fill(c, leaf);
        return c;
    }

    @Test
    void refusedChainsAreNotRemembered() throws Exception {
        NodeVerifier v = NodeVerifier.builder().trustCa(ids.caCertificate()).build();
        assertReason(() -> v.verify(tooLong(chain(alice)[0]), null), Reason.MALFORMED);
        assertThat(v.memo().size())
                .as("the chain was refused before anything was parsed")
                .isZero();
    }
}
