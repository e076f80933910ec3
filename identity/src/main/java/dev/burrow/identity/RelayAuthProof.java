package dev.burrow.identity;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;

/**
 * The relay authentication proof (auth replay, chosen challenges): inside TLS, the relay sends a fresh random
 * {@value #CHALLENGE_LENGTH}-byte challenge per connection; the client proves it holds the key it
 * claims by signing a digest derived from the challenge, never the raw challenge:
 *
 * <pre>
 * message = SHA-256( "burrow-relay-auth-v1" || 0x00 || challenge (32) || client node key (32) )
 * proof   = Ed25519-Sign(client private key, message)          (64 bytes)
 * </pre>
 *
 * The label makes the signature useless in any other protocol (the relay cannot make the client
 * sign another protocol's message), the challenge makes it useless on another connection (replay),
 * and the key binds it to the claimed identity. The server validates the claimed key (length,
 * point) before verifying, and every failure is a plain {@code false}.
 */
public final class RelayAuthProof {
    /** Challenge size: 256 bits, so a challenge never repeats. */
    public static final int CHALLENGE_LENGTH = 32;
    /** Proof size: one Ed25519 signature. */
    public static final int PROOF_LENGTH = Ed25519Keys.SIGNATURE_LENGTH;
    /** Domain-separation label, versioned. */
    public static final String LABEL = "burrow-relay-auth-v1";

    private static final byte[] LABEL_BYTES = LABEL.getBytes(StandardCharsets.US_ASCII);
    private static final SecureRandom RANDOM = new SecureRandom();

    private RelayAuthProof() {}

    /** A fresh random challenge (one per connection; never reuse). */
    public static byte[] newChallenge() {
        byte[] c = new byte[CHALLENGE_LENGTH];
        RANDOM.nextBytes(c);
        return c;
    }

    /** The 32-byte message that is signed. */
    public static byte[] messageToSign(byte[] challenge, NodeKey clientKey) {
        if (challenge == null || challenge.length != CHALLENGE_LENGTH) {
            throw new IllegalArgumentException("challenge must be " + CHALLENGE_LENGTH + " bytes");
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(LABEL_BYTES);
            sha.update((byte) 0);
            sha.update(challenge);
            sha.update(clientKey.bytes());
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The client's proof for {@code challenge}. */
    public static byte[] sign(NodeIdentity identity, byte[] challenge) {
        return identity.sign(messageToSign(challenge, identity.nodeKey()));
    }

    /**
     * Verifies a proof. False for a wrongly sized challenge or proof, an invalid key, or a bad
     * signature; never throws.
     */
    public static boolean verify(NodeKey claimedKey, byte[] challenge, byte[] proof) {
        if (claimedKey == null
                || challenge == null
                || challenge.length != CHALLENGE_LENGTH
                || proof == null
                || proof.length != PROOF_LENGTH
                || !Ed25519Keys.isValid(claimedKey)) {
            return false;
        }
        return Ed25519Keys.verify(claimedKey, messageToSign(challenge, claimedKey), proof);
    }

    /**
     * Verifies a proof for a claimed key given as raw wire bytes of any length: a wrong length or
     * invalid point is refused before any hashing or curve work.
     */
    public static boolean verifyRaw(byte[] claimedKey, byte[] challenge, byte[] proof) {
        if (!Ed25519Keys.isValidPublicKey(claimedKey)) {
            return false;
        }
        return verify(NodeKey.of(claimedKey), challenge, proof);
    }
}
