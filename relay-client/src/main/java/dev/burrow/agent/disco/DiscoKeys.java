package dev.burrow.agent.disco;

import dev.burrow.identity.NodeKey;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;
import org.bouncycastle.math.ec.rfc7748.X25519;

/**
 * Disco key agreement from the Ed25519 node keys (no extra key to distribute):
 *
 * <pre>
 * x_priv = SHA-512(ed25519 seed)[0..32]                  (the Ed25519 secret scalar; X25519 clamps it)
 * x_pub  = u = (1 + y) / (1 - y) mod 2^255 - 19          (birational map, RFC 7748 section 4.1)
 * shared = X25519(x_priv_self, x_pub_peer)               (refused when all zero)
 * key    = HKDF-SHA256(ikm = shared, salt = session[16],
 *                      info = "burrow-disco-v1" || 0x00 || senderKey[32] || receiverKey[32])
 * </pre>
 *
 * Each direction and each sender session has its own key, so counter nonces never repeat under one
 * key, also across restarts (a restarted sender starts a new session).
 */
public final class DiscoKeys {
    static final byte[] LABEL = "burrow-disco-v1".getBytes(StandardCharsets.US_ASCII);
    public static final int KEY_LENGTH = 32;
    private static final BigInteger P = BigInteger.TWO.pow(255).subtract(BigInteger.valueOf(19));

    private DiscoKeys() {}

    /** The X25519 private scalar of an Ed25519 private key (any provider's PKCS#8 encoding). */
    public static byte[] x25519Private(PrivateKey ed25519) {
        byte[] seed = ASN1OctetString.getInstance(parse(ed25519).getOctets()).getOctets();
        try {
            if (seed.length != 32) {
                throw new IllegalArgumentException("not an Ed25519 private key");
            }
            byte[] h = MessageDigest.getInstance("SHA-512").digest(seed);
            byte[] scalar = Arrays.copyOf(h, 32);
            Arrays.fill(h, (byte) 0);
            return scalar;
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        } finally {
            Arrays.fill(seed, (byte) 0);
        }
    }

    private static ASN1OctetString parse(PrivateKey k) {
        try {
            return PrivateKeyInfo.getInstance(k.getEncoded()).getPrivateKey();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a PKCS#8 private key");
        }
    }

    /** The Montgomery u-coordinate of an Ed25519 public key (validate the key first: Ed25519Keys.isValid). */
    public static byte[] x25519Public(NodeKey ed25519) {
        byte[] le = ed25519.bytes();
        le[31] &= 0x7F; // drop the sign bit of x
        BigInteger y = new BigInteger(1, reverse(le));
        BigInteger u = BigInteger.ONE
                .add(y)
                .multiply(BigInteger.ONE.subtract(y).mod(P).modInverse(P))
                .mod(P);
        byte[] be = u.toByteArray();
        byte[] out = new byte[32];
        for (int i = 0; i < 32 && i < be.length; i++) {
            out[i] = be[be.length - 1 - i];
        }
        return out;
    }

    /** X25519(self, peer); null when the result is all zero (a low-order point). */
    public static byte[] shared(byte[] selfPrivate, byte[] peerPublic) {
        byte[] out = new byte[32];
        return X25519.calculateAgreement(selfPrivate, 0, peerPublic, 0, out, 0) ? out : null;
    }

    /** The disco box key for one direction and one sender session (label {@code burrow-disco-v1}). */
    public static byte[] boxKey(byte[] shared, byte[] session, NodeKey sender, NodeKey receiver) {
        return boxKey(LABEL, shared, session, sender, receiver);
    }

    /**
     * A box key for one direction and one sender session: HKDF-SHA256(shared, salt = session,
     * info = label 0x00 sender receiver), {@link #KEY_LENGTH} bytes.
     */
    public static byte[] boxKey(byte[] label, byte[] shared, byte[] session, NodeKey sender, NodeKey receiver) {
        byte[] info = new byte[label.length + 1 + 2 * NodeKey.LENGTH];
        System.arraycopy(label, 0, info, 0, label.length);
        sender.copyTo(info, label.length + 1);
        receiver.copyTo(info, label.length + 1 + NodeKey.LENGTH);
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(new HKDFParameters(shared, session, info));
        byte[] key = new byte[KEY_LENGTH];
        hkdf.generateBytes(key, 0, key.length);
        return key;
    }

    private static byte[] reverse(byte[] b) {
        byte[] r = new byte[b.length];
        for (int i = 0; i < b.length; i++) {
            r[i] = b[b.length - 1 - i];
        }
        return r;
    }
}
