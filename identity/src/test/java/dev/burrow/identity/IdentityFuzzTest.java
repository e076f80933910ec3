package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.enrol.EnrolmentMessages;
import dev.burrow.identity.token.InvalidTokenException;
import dev.burrow.identity.token.JoinToken;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.Arrays;

/**
 * Hostile input into every identity parser: certificates into {@link NodeVerifier}, node IDs,
 * join tokens, enrolment JSON and auth proofs. The only failures allowed are the typed ones.
 * Seeds in {@code IdentityFuzzTestInputs/}; run for real with {@code JAZZER_FUZZ=1}.
 */
class IdentityFuzzTest {
    private static final NodeIdentity PINNED = NodeIdentity.ephemeral("pinned");
    private static final NodeVerifier VERIFIER = NodeVerifier.builder()
            .acceptAnySelfSigned(true)
            .pin(PINNED.nodeKey())
            .build();

    @FuzzTest(maxDuration = "30s")
    void certificatesOnlyFailWithPeerVerificationException(byte[] input) {
        X509Certificate cert;
        try {
            cert = (X509Certificate)
                    CertificateFactory.getInstance("X.509").generateCertificate(new ByteArrayInputStream(input));
        } catch (CertificateException | RuntimeException e) {
            return; // the JDK refuses it before we ever see it
        }
        try {
            VerifiedPeer p = VERIFIER.verify(new X509Certificate[] {cert}, null);
            assertThat(Ed25519Keys.isValid(p.nodeKey())).isTrue();
        } catch (PeerVerificationException expected) {
            assertThat(expected.reason()).isNotNull();
        }
    }

    @FuzzTest(maxDuration = "30s")
    void textFormsOnlyFailWithTypedErrors(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        try {
            NodeKey k = NodeKey.parse(text);
            assertThat(NodeKey.parse(k.nodeId())).isEqualTo(k);
        } catch (IllegalArgumentException expected) {
            // typed refusal
        }
        try {
            JoinToken t = JoinToken.parse(text);
            assertThat(JoinToken.parse(t.reveal()).id()).isEqualTo(t.id());
        } catch (InvalidTokenException expected) {
            assertThat(expected.getMessage()).isEqualTo(InvalidTokenException.MESSAGE);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void enrolmentJsonOnlyFailsWithEnrolmentException(byte[] input) {
        try {
            EnrolmentMessages.parseRequest(input);
        } catch (EnrolmentException expected) {
            assertThat(expected.reason())
                    .isIn(EnrolmentException.Reason.TOO_LARGE, EnrolmentException.Reason.BAD_REQUEST);
        }
    }

    @FuzzTest(maxDuration = "30s")
    void authProofNeverThrows(byte[] input) {
        // key | challenge | proof with lengths taken from the first two bytes
        if (input.length < 2) {
            assertThat(RelayAuthProof.verifyRaw(input, input, input)).isFalse();
            return;
        }
        int kl = Math.min(input[0] & 0x3F, input.length - 2);
        int cl = Math.min(input[1] & 0x3F, input.length - 2 - kl);
        byte[] key = Arrays.copyOfRange(input, 2, 2 + kl);
        byte[] challenge = Arrays.copyOfRange(input, 2 + kl, 2 + kl + cl);
        byte[] proof = Arrays.copyOfRange(input, 2 + kl + cl, input.length);
        // No key was made to sign this: a true would be a forgery.
        assertThat(RelayAuthProof.verifyRaw(key, challenge, proof)).isFalse();
    }
}
