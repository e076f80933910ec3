package dev.burrow.identity;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Arrays;
import org.bouncycastle.math.ec.rfc8032.Ed25519;

/**
 * Ed25519 helpers: raw 32-byte keys to and from JDK keys, point validation and signature checks
 * that never throw on hostile input.
 *
 * <p>Validation is the first thing done with a key that came from the network (bad keys): the length is
 * checked, then {@link Ed25519#validatePublicKeyFull} rejects non-canonical encodings, points not
 * on the curve, small-order points (including the all-zero and identity encodings) and points
 * outside the prime-order subgroup. Only then is a signature verified.
 */
public final class Ed25519Keys {
    /** Ed25519 signatures are 64 bytes (RFC 8032). */
    public static final int SIGNATURE_LENGTH = 64;
    /** The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (33) }. */
    private static final byte[] SPKI_PREFIX = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
    /** The Ed25519 algorithm OID as text. */
    public static final String OID = "1.3.101.112";

    private Ed25519Keys() {}

    /** A fresh Ed25519 key pair from the platform provider. */
    public static KeyPair generate() {
        try {
            return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("Ed25519 is required (JDK 15+)", e);
        }
    }

    /**
     * True when {@code raw} is a usable Ed25519 public key: 32 bytes, canonical, on the curve, not of
     * small order. Never throws.
     */
    public static boolean isValidPublicKey(byte[] raw) {
        return raw != null && raw.length == NodeKey.LENGTH && Ed25519.validatePublicKeyFull(raw, 0);
    }

    /** True when the node key is a usable Ed25519 point (see {@link #isValidPublicKey}). */
    public static boolean isValid(NodeKey key) {
        return key != null && isValidPublicKey(key.bytes());
    }

    /** The SubjectPublicKeyInfo DER encoding of a raw key. */
    public static byte[] subjectPublicKeyInfo(NodeKey key) {
        byte[] der = Arrays.copyOf(SPKI_PREFIX, SPKI_PREFIX.length + NodeKey.LENGTH);
        key.copyTo(der, SPKI_PREFIX.length);
        return der;
    }

    /** The JDK public key for a node key. */
    public static PublicKey toPublicKey(NodeKey key) {
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(subjectPublicKeyInfo(key)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("not an Ed25519 public key", e);
        }
    }

    /**
     * The node key of a JDK (or any X.509-encodable) Ed25519 public key.
     *
     * @throws IllegalArgumentException when the key is not Ed25519
     */
    public static NodeKey fromPublicKey(PublicKey key) {
        byte[] raw = rawFromSubjectPublicKeyInfo(key == null ? null : key.getEncoded());
        if (raw == null) {
            throw new IllegalArgumentException(
                    "not an Ed25519 public key: " + (key == null ? "null" : key.getAlgorithm()));
        }
        return NodeKey.of(raw);
    }

    /** The raw 32 bytes of an Ed25519 SubjectPublicKeyInfo, or null when it is anything else. */
    public static byte[] rawFromSubjectPublicKeyInfo(byte[] spki) {
        if (spki == null
                || spki.length != SPKI_PREFIX.length + NodeKey.LENGTH
                || !Arrays.equals(spki, 0, SPKI_PREFIX.length, SPKI_PREFIX, 0, SPKI_PREFIX.length)) {
            return null;
        }
        return Arrays.copyOfRange(spki, SPKI_PREFIX.length, spki.length);
    }

    /**
     * Verifies an Ed25519 signature. Returns false (never throws) for a null or wrongly sized key,
     * signature or message, an invalid point, or a bad signature. The key is validated before any
     * curve arithmetic on the signature.
     */
    public static boolean verify(byte[] rawKey, byte[] message, byte[] signature) {
        if (message == null || signature == null || signature.length != SIGNATURE_LENGTH || !isValidPublicKey(rawKey)) {
            return false;
        }
        try {
            return Ed25519.verify(signature, 0, rawKey, 0, message, 0, message.length);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** {@link #verify(byte[], byte[], byte[])} for a node key. */
    public static boolean verify(NodeKey key, byte[] message, byte[] signature) {
        return key != null && verify(key.bytes(), message, signature);
    }
}
