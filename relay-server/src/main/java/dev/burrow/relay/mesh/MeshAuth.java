package dev.burrow.relay.mesh;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Mesh authentication: HMAC-SHA256 challenge-response, so the key never crosses the wire.
 *
 * <p>Each side sends HELLO (with a fresh 32-byte nonce), then AUTH with
 * <pre>
 * mac = HMAC-SHA256(meshKey, "burrow-mesh-v1 auth" | role u8 | sender HELLO payload | receiver HELLO payload
 *                            | SHA-256 of the acceptor's TLS certificate (32 zero bytes without TLS))
 * </pre>
 * {@code role} is 0 for the dialer's MAC and 1 for the acceptor's, so one side's MAC is never valid
 * as the other's. Both nonces make every MAC fresh (no replay). The certificate hash binds the MAC
 * to the TLS session: the acceptor hashes its own certificate, the dialer the one it was shown, so a
 * man in the middle who terminates TLS with his own certificate cannot relay the MACs. MACs are
 * compared with {@link MessageDigest#isEqual}.
 */
public final class MeshAuth {
    public static final int MAC_LENGTH = 32;
    private static final byte[] LABEL = "burrow-mesh-v1 auth".getBytes(StandardCharsets.US_ASCII);
    static final byte[] NO_CERTIFICATE = new byte[32];

    public enum Role {
        DIALER(0),
        ACCEPTOR(1);

        final int code;

        Role(int code) {
            this.code = code;
        }
    }

    private MeshAuth() {}

    /** The MAC {@code sender} sends. */
    public static byte[] mac(MeshKey key, Role sender, byte[] senderHello, byte[] receiverHello, byte[] certHash) {
        return mac(key.bytes(), sender, senderHello, receiverHello, certHash);
    }

    private static byte[] mac(byte[] k, Role sender, byte[] senderHello, byte[] receiverHello, byte[] certHash) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(k, "HmacSHA256"));
            Arrays.fill(k, (byte) 0);
            mac.update(LABEL);
            mac.update((byte) sender.code);
            mac.update(senderHello);
            mac.update(receiverHello);
            mac.update(certHash);
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /**
     * Constant-time check of a received MAC against every accepted key (all are always checked, so
     * the time does not say which one matched).
     */
    public static boolean verify(
            MeshKey key, Role sender, byte[] senderHello, byte[] receiverHello, byte[] certHash, byte[] received) {
        return provenKey(key, sender, senderHello, receiverHello, certHash, received) != null;
    }

    /**
     * Like {@link #verify}, but says which key the sender proved: its {@link MeshKey#fingerprint}, or
     * null when none matched. Every accepted key is always checked, so the time does not say which.
     * A link remembers the fingerprint so that removing that key from the file cuts the link.
     */
    static byte[] provenKey(
            MeshKey key, Role sender, byte[] senderHello, byte[] receiverHello, byte[] certHash, byte[] received) {
        byte[] proven = null;
        for (byte[] k : key.accepted()) {
            byte[] fingerprint = MeshKey.fingerprint(k);
            if (MessageDigest.isEqual(mac(k, sender, senderHello, receiverHello, certHash), received)) {
                proven = fingerprint;
            }
        }
        return proven;
    }

    /** SHA-256 of a DER certificate. */
    static byte[] certHash(byte[] der) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(der);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }
}
