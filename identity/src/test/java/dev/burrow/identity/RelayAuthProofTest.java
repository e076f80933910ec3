package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class RelayAuthProofTest {
    private final NodeIdentity client = NodeIdentity.ephemeral("client");

    @Test
    void validProofVerifies() {
        byte[] challenge = RelayAuthProof.newChallenge();
        byte[] proof = RelayAuthProof.sign(client, challenge);
        assertThat(proof).hasSize(RelayAuthProof.PROOF_LENGTH);
        assertThat(RelayAuthProof.verify(client.nodeKey(), challenge, proof)).isTrue();
        assertThat(RelayAuthProof.verifyRaw(client.nodeKey().bytes(), challenge, proof))
                .isTrue();
    }

    @Test
    void replayOnAnotherConnectionFails() {
        byte[] c1 = RelayAuthProof.newChallenge();
        byte[] c2 = RelayAuthProof.newChallenge();
        assertThat(c1).isNotEqualTo(c2);
        byte[] proof = RelayAuthProof.sign(client, c1);
        assertThat(RelayAuthProof.verify(client.nodeKey(), c2, proof)).isFalse();
    }

    @Test
    void claimingKeyKWhileSigningWithKPrimeFails() {
        NodeIdentity other = NodeIdentity.ephemeral("other");
        byte[] c = RelayAuthProof.newChallenge();
        byte[] proofByOther = RelayAuthProof.sign(other, c);
        assertThat(RelayAuthProof.verify(client.nodeKey(), c, proofByOther)).isFalse();
        // and a signature by K' over K's message also fails
        byte[] forged = other.sign(RelayAuthProof.messageToSign(c, client.nodeKey()));
        assertThat(RelayAuthProof.verify(client.nodeKey(), c, forged)).isFalse();
    }

    @Test
    void neverSignsRawServerChosenBytes() throws Exception {
        // A hostile relay picks a challenge that is another protocol's message: the client signs a
        // domain-separated digest, so the signature does not verify over the raw bytes.
        byte[] chosen = Arrays.copyOf("GET /transfer?to=mallory HTTP/1.1".getBytes(StandardCharsets.US_ASCII), 32);
        byte[] proof = RelayAuthProof.sign(client, chosen);
        assertThat(Ed25519Keys.verify(client.nodeKey(), chosen, proof)).isFalse();
        byte[] expected = MessageDigest.getInstance("SHA-256")
                .digest(concat(
                        "burrow-relay-auth-v1".getBytes(StandardCharsets.US_ASCII),
                        new byte[] {0},
                        chosen,
                        client.nodeKey().bytes()));
        assertThat(RelayAuthProof.messageToSign(chosen, client.nodeKey())).isEqualTo(expected);
        assertThat(Ed25519Keys.verify(client.nodeKey(), expected, proof)).isTrue();
    }

    @Test
    void zeroSmallOrderAndNonCanonicalKeysFail() {
        byte[] c = RelayAuthProof.newChallenge();
        byte[] proof = RelayAuthProof.sign(client, c);
        for (byte[] bad : BadKeys.all()) {
            assertThat(RelayAuthProof.verifyRaw(bad, c, proof)).isFalse();
            assertThat(RelayAuthProof.verify(NodeKey.of(bad), c, proof)).isFalse();
        }
        // The all-zero key with an all-zero signature is the classic trick that some verifiers accept.
        assertThat(RelayAuthProof.verifyRaw(new byte[32], c, new byte[64])).isFalse();
    }

    @Test
    void wrongLengthsFailWithoutExceptions() {
        byte[] c = RelayAuthProof.newChallenge();
        byte[] proof = RelayAuthProof.sign(client, c);
        byte[] key = client.nodeKey().bytes();
        assertThatCode(() -> {
                    assertThat(RelayAuthProof.verifyRaw(Arrays.copyOf(key, 31), c, proof))
                            .isFalse();
                    assertThat(RelayAuthProof.verifyRaw(Arrays.copyOf(key, 33), c, proof))
                            .isFalse();
                    assertThat(RelayAuthProof.verifyRaw(new byte[0], c, proof)).isFalse();
                    assertThat(RelayAuthProof.verifyRaw(null, c, proof)).isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), Arrays.copyOf(c, 31), proof))
                            .isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), Arrays.copyOf(c, 33), proof))
                            .isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), null, proof))
                            .isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), c, Arrays.copyOf(proof, 63)))
                            .isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), c, Arrays.copyOf(proof, 65)))
                            .isFalse();
                    assertThat(RelayAuthProof.verify(client.nodeKey(), c, null)).isFalse();
                    assertThat(RelayAuthProof.verify(null, c, proof)).isFalse();
                })
                .doesNotThrowAnyException();
    }

    @Test
    void flippedBitsFail() {
        byte[] c = RelayAuthProof.newChallenge();
        byte[] proof = RelayAuthProof.sign(client, c);
        for (int i = 0; i < proof.length; i++) {
            byte[] p = proof.clone();
            p[i] ^= 1;
            assertThat(RelayAuthProof.verify(client.nodeKey(), c, p)).isFalse();
        }
        byte[] c2 = c.clone();
        c2[31] ^= (byte) 0x80;
        assertThat(RelayAuthProof.verify(client.nodeKey(), c2, proof)).isFalse();
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] out = new byte[n];
        int o = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }
}
