package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import org.junit.jupiter.api.Test;

class Ed25519KeysTest {
    @Test
    void convertsBetweenRawAndJdkKeys() {
        KeyPair kp = Ed25519Keys.generate();
        NodeKey k = Ed25519Keys.fromPublicKey(kp.getPublic());
        PublicKey back = Ed25519Keys.toPublicKey(k);
        assertThat(back.getEncoded()).isEqualTo(kp.getPublic().getEncoded());
        assertThat(Ed25519Keys.fromPublicKey(back)).isEqualTo(k);
        assertThat(Ed25519Keys.isValid(k)).isTrue();
    }

    @Test
    void refusesNonEd25519Keys() throws Exception {
        KeyPairGenerator ec = KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        PublicKey ecKey = ec.generateKeyPair().getPublic();
        assertThatThrownBy(() -> Ed25519Keys.fromPublicKey(ecKey)).isInstanceOf(IllegalArgumentException.class);
        assertThat(Ed25519Keys.rawFromSubjectPublicKeyInfo(ecKey.getEncoded())).isNull();
        assertThat(Ed25519Keys.rawFromSubjectPublicKeyInfo(null)).isNull();
    }

    @Test
    void refusesZeroSmallOrderAndNonCanonicalKeys() {
        for (byte[] bad : BadKeys.all()) {
            assertThat(Ed25519Keys.isValidPublicKey(bad))
                    .as(java.util.HexFormat.of().formatHex(bad))
                    .isFalse();
        }
    }

    @Test
    void refusesWrongLengthsWithoutThrowing() {
        assertThat(Ed25519Keys.isValidPublicKey(null)).isFalse();
        assertThat(Ed25519Keys.isValidPublicKey(new byte[0])).isFalse();
        assertThat(Ed25519Keys.isValidPublicKey(new byte[31])).isFalse();
        assertThat(Ed25519Keys.isValidPublicKey(new byte[33])).isFalse();
        NodeIdentity id = NodeIdentity.ephemeral("n");
        byte[] sig = id.sign(new byte[] {1});
        byte[] key = id.nodeKey().bytes();
        assertThat(Ed25519Keys.verify(key, new byte[] {1}, sig)).isTrue();
        assertThat(Ed25519Keys.verify(java.util.Arrays.copyOf(key, 33), new byte[] {1}, sig))
                .isFalse();
        assertThat(Ed25519Keys.verify(key, new byte[] {1}, java.util.Arrays.copyOf(sig, 63)))
                .isFalse();
        assertThat(Ed25519Keys.verify(key, new byte[] {1}, java.util.Arrays.copyOf(sig, 65)))
                .isFalse();
        assertThat(Ed25519Keys.verify(key, null, sig)).isFalse();
        assertThat(Ed25519Keys.verify((byte[]) null, new byte[] {1}, sig)).isFalse();
        assertThat(Ed25519Keys.verify(key, new byte[] {2}, sig)).isFalse();
    }

    @Test
    void nonCanonicalSignatureScalarIsRefused() {
        NodeIdentity id = NodeIdentity.ephemeral("n");
        byte[] msg = {7};
        byte[] sig = id.sign(msg);
        // S + L (group order) is the classic malleability: must not verify.
        java.math.BigInteger l = java.math.BigInteger.TWO
                .pow(252)
                .add(new java.math.BigInteger("27742317777372353535851937790883648493"));
        byte[] sLe = java.util.Arrays.copyOfRange(sig, 32, 64);
        byte[] sBe = new byte[32];
        for (int i = 0; i < 32; i++) {
            sBe[i] = sLe[31 - i];
        }
        java.math.BigInteger s = new java.math.BigInteger(1, sBe).add(l);
        byte[] big = s.toByteArray();
        byte[] out = sig.clone();
        for (int i = 0; i < 32; i++) {
            int j = big.length - 1 - i;
            out[32 + i] = j >= 0 ? big[j] : 0;
        }
        assertThat(Ed25519Keys.verify(id.nodeKey(), msg, out)).isFalse();
    }
}
