package dev.burrow.relay.mesh;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
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
    /** Another label than AUTH's, so a handshake MAC is never valid as a BIND MAC or the reverse. */
    private static final byte[] BIND_LABEL = "burrow-mesh-v1 bind".getBytes(StandardCharsets.US_ASCII);

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

    /**
     * The MAC of CIRCUIT_BIND on a pooled circuit connection, sent by the dialer's relay with the
     * current key:
     * <pre>
     * HMAC-SHA256(meshKey, "burrow-mesh-v1 bind" | dialer HELLO payload | acceptor HELLO payload | circuitId | token)
     * </pre>
     * Both HELLOs carry both relays' instance IDs, relay IDs and fresh nonces, so the MAC is valid on
     * this one connection only (a captured BIND replayed on another connection fails); the circuit ID
     * and the dialer end's token bind it to one circuit, and the token itself never crosses the wire,
     * so plain TCP between relays reveals nothing that lets an outsider attach.
     */
    public static byte[] bindMac(
            MeshKey key, byte[] dialerHello, byte[] acceptorHello, CircuitId circuitId, CircuitToken token) {
        return bindMac(key.bytes(), dialerHello, acceptorHello, circuitId, token);
    }

    private static byte[] bindMac(
            byte[] k, byte[] dialerHello, byte[] acceptorHello, CircuitId circuitId, CircuitToken token) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(k, "HmacSHA256"));
            Arrays.fill(k, (byte) 0);
            mac.update(BIND_LABEL);
            mac.update(dialerHello);
            mac.update(acceptorHello);
            mac.update(circuitId.bytes());
            mac.update(token.bytes());
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    /**
     * Constant-time check of a CIRCUIT_BIND MAC against every accepted key (all are always checked),
     * so a rotation in progress works in both directions.
     */
    static boolean verifyBind(
            MeshKey key,
            byte[] dialerHello,
            byte[] acceptorHello,
            CircuitId circuitId,
            CircuitToken token,
            byte[] received) {
        boolean ok = false;
        for (byte[] k : key.accepted()) {
            ok |= MessageDigest.isEqual(bindMac(k, dialerHello, acceptorHello, circuitId, token), received);
        }
        return ok;
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
