package dev.burrow.identity.token;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.regex.Pattern;

/**
 * The join token text form: {@code bjt1.<id>.<secret>}.
 *
 * <ul>
 *   <li>{@code bjt1}: format version;</li>
 *   <li>{@code id}: 16 characters base32 (a-z, 2-7) of 10 random bytes; public, used to find the
 *       token and shown by {@code burrow token list};</li>
 *   <li>{@code secret}: 43 characters base64url of 32 random bytes (256 bits); only its hash
 *       {@code SHA-256("burrow-join-token-v1" || 0x00 || secret bytes)} is stored.</li>
 * </ul>
 *
 * The secret is high-entropy, so a plain (fast) hash is enough: there is nothing to brute-force.
 */
public final class JoinToken {
    public static final String PREFIX = "bjt1";
    public static final int ID_BYTES = 10;
    public static final int ID_LENGTH = 16;
    public static final int SECRET_BYTES = 32;
    public static final int SECRET_LENGTH = 43;
    /** Longest text accepted before any parsing: the exact length of a token. */
    public static final int TEXT_LENGTH = PREFIX.length() + 1 + ID_LENGTH + 1 + SECRET_LENGTH;

    private static final Pattern ID = Pattern.compile("[a-z2-7]{" + ID_LENGTH + "}");
    private static final Pattern SECRET = Pattern.compile("[A-Za-z0-9_-]{" + SECRET_LENGTH + "}");
    private static final byte[] HASH_LABEL = "burrow-join-token-v1".getBytes(StandardCharsets.US_ASCII);
    private static final char[] BASE32 = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String id;
    private final byte[] secret;

    private JoinToken(String id, byte[] secret) {
        this.id = id;
        this.secret = secret;
    }

    /** A new random token. */
    public static JoinToken generate() {
        byte[] idBytes = new byte[ID_BYTES];
        RANDOM.nextBytes(idBytes);
        byte[] secret = new byte[SECRET_BYTES];
        RANDOM.nextBytes(secret);
        return new JoinToken(base32(idBytes), secret);
    }

    /**
     * Parses the text form.
     *
     * @throws InvalidTokenException (MALFORMED) for anything else; the message never contains the text
     */
    public static JoinToken parse(String text) throws InvalidTokenException {
        if (text == null) {
            throw new InvalidTokenException(InvalidTokenException.Reason.MALFORMED);
        }
        String t = text.strip();
        if (t.length() != TEXT_LENGTH
                || !t.startsWith(PREFIX + ".")
                || t.charAt(PREFIX.length() + 1 + ID_LENGTH) != '.') {
            throw new InvalidTokenException(InvalidTokenException.Reason.MALFORMED);
        }
        String id = t.substring(PREFIX.length() + 1, PREFIX.length() + 1 + ID_LENGTH);
        String secret = t.substring(PREFIX.length() + 1 + ID_LENGTH + 1);
        if (!ID.matcher(id).matches() || !SECRET.matcher(secret).matches()) {
            throw new InvalidTokenException(InvalidTokenException.Reason.MALFORMED);
        }
        byte[] raw;
        try {
            raw = Base64.getUrlDecoder().decode(secret);
        } catch (IllegalArgumentException e) {
            throw new InvalidTokenException(InvalidTokenException.Reason.MALFORMED);
        }
        if (raw.length != SECRET_BYTES) {
            throw new InvalidTokenException(InvalidTokenException.Reason.MALFORMED);
        }
        return new JoinToken(id, raw);
    }

    /** True when {@code s} looks like a token id. */
    public static boolean isValidId(String s) {
        return s != null && ID.matcher(s).matches();
    }

    public String id() {
        return id;
    }

    /** The stored form of the secret. */
    public byte[] secretHash() {
        return hashSecret(secret);
    }

    static byte[] hashSecret(byte[] secret) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(HASH_LABEL);
            sha.update((byte) 0);
            sha.update(secret);
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** True when this token's secret hashes to {@code storedHash}; constant-time, any length. */
    public boolean matches(byte[] storedHash) {
        return storedHash != null && MessageDigest.isEqual(secretHash(), storedHash);
    }

    /** The full token text, containing the secret: show it once to the operator, never log it. */
    public String reveal() {
        return PREFIX + "." + id + "." + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
    }

    /** Shows only the id: a token must never end up in a log by accident. */
    @Override
    public String toString() {
        return "JoinToken[" + id + "]";
    }

    private static String base32(byte[] bytes) {
        StringBuilder sb = new StringBuilder();
        int buffer = 0;
        int bits = 0;
        for (byte b : bytes) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                sb.append(BASE32[(buffer >>> bits) & 0x1F]);
            }
        }
        return sb.toString();
    }
}
