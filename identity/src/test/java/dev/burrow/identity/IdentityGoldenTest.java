package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.identity.token.JoinToken;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Golden values for every derivation in {@code docs/identity.md}. They were cross-checked with an
 * independent implementation (Python hashlib/base64) of the documented formulas; a change here is
 * a wire format change.
 */
class IdentityGoldenTest {
    private static final HexFormat HEX = HexFormat.of();

    private static NodeKey key0to31() {
        byte[] k = new byte[32];
        for (int i = 0; i < 32; i++) {
            k[i] = (byte) i;
        }
        return NodeKey.of(k);
    }

    @Test
    void nodeId() {
        assertThat(key0to31().nodeId()).isEqualTo("aaaqeayeaudaocajbifqydiob4ibceqtcqkrmfyydenbwha5dypsqlv5");
    }

    @Test
    void relayAuthMessage() {
        byte[] challenge = new byte[32];
        Arrays.fill(challenge, (byte) 0x11);
        assertThat(HEX.formatHex(RelayAuthProof.messageToSign(challenge, key0to31())))
                .isEqualTo("15e61c70090c9ace83966b6d71230a3081a22fdc6116eb58883b8297d0a5a90f");
    }

    @Test
    void joinTokenHashAndEnrolmentMessage() throws Exception {
        String token = "bjt1.aaaaaaaaaaaaaaaa." + "A".repeat(43);
        assertThat(HEX.formatHex(JoinToken.parse(token).secretHash()))
                .isEqualTo("6c33df485ff68f898da06e80b63617d8ce680633b75d433320dd0df230b13a71");
        assertThat(HEX.formatHex(EnrolmentService.messageToSign(key0to31(), token, "alice")))
                .isEqualTo("980418229abf3b54bea456c2f1a9f9b2f2f8a23d746f3818dc649509946eeb38");
    }

    @Test
    void rfc8032TestVector1VerifiesAndIsValid() {
        byte[] pub = HEX.parseHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
        byte[] sig = HEX.parseHex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
                + "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
        assertThat(Ed25519Keys.isValidPublicKey(pub)).isTrue();
        assertThat(Ed25519Keys.verify(pub, new byte[0], sig)).isTrue();
        assertThat(Ed25519Keys.verify(pub, new byte[] {0}, sig)).isFalse();
    }
}
