package dev.burrow.identity;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Locale;

/**
 * A node's Ed25519 public key (32 bytes) and its text form, the <em>node ID</em>.
 *
 * <p>Node ID format (stable; documented in {@code docs/protocol.md}): the 32 key bytes followed by
 * a 3-byte checksum, the first three bytes of {@code SHA-256("burrow-node-id-v1" || key)}, encoded
 * as RFC 4648 base32 in lower case without padding. 35 bytes encode to exactly
 * {@value #TEXT_LENGTH} characters. Parsing is case-insensitive; a typo fails the checksum with a
 * clear error (a 24-bit checksum misses a random error once in 16 million).
 *
 * <p>This class only checks the length. Whether the bytes are a valid Ed25519 point is decided
 * where a signature is verified.
 */
public final class NodeKey implements Comparable<NodeKey> {
    /** Ed25519 public keys are 32 bytes (RFC 8032). */
    public static final int LENGTH = 32;
    /** Checksum bytes appended before encoding: enough to catch typos, short enough to type. */
    static final int CHECKSUM_LENGTH = 3;
    /** Length of the node ID text: (32 + 3) bytes × 8 / 5 bits per character. */
    public static final int TEXT_LENGTH = (LENGTH + CHECKSUM_LENGTH) * 8 / 5;
    /** Characters shown by {@link #shortId()}: 50 bits, unique enough for logs and tables. */
    public static final int SHORT_LENGTH = 10;

    private static final byte[] CHECKSUM_LABEL = "burrow-node-id-v1".getBytes(StandardCharsets.US_ASCII);
    private static final char[] ALPHABET = "abcdefghijklmnopqrstuvwxyz234567".toCharArray();

    private final byte[] key;
    private final int hash;
    /** Computed on first use: keys are decoded on the forwarding path, where the text is rarely needed. */
    private volatile String text;

    private NodeKey(byte[] key) {
        this.key = key;
        this.hash = Arrays.hashCode(key);
    }

    /** Wraps a copy of 32 raw key bytes. */
    public static NodeKey of(byte[] key) {
        if (key == null || key.length != LENGTH) {
            throw new IllegalArgumentException(
                    "a node key is " + LENGTH + " bytes, got " + (key == null ? "null" : key.length));
        }
        return new NodeKey(key.clone());
    }

    /** Parses a node ID (case-insensitive, surrounding white space ignored). */
    public static NodeKey parse(String nodeId) {
        if (nodeId == null) {
            throw new IllegalArgumentException("node ID is missing");
        }
        String t = nodeId.strip().toLowerCase(Locale.ROOT);
        if (t.length() != TEXT_LENGTH) {
            throw new IllegalArgumentException(
                    "'" + (t.length() > TEXT_LENGTH ? t.substring(0, TEXT_LENGTH) + "..." : t)
                            + "' is not a node ID: a node ID has " + TEXT_LENGTH + " characters, got " + t.length()
                            + " ('burrow id --node-id' prints it on that node)");
        }
        byte[] all = new byte[LENGTH + CHECKSUM_LENGTH];
        long buffer = 0;
        int bits = 0;
        int out = 0;
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            int v;
            if (c >= 'a' && c <= 'z') {
                v = c - 'a';
            } else if (c >= '2' && c <= '7') {
                v = c - '2' + 26;
            } else {
                throw new IllegalArgumentException("a node ID uses only a-z and 2-7; found '" + c + "' at " + i);
            }
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8) {
                bits -= 8;
                all[out++] = (byte) (buffer >>> bits);
            }
        }
        byte[] key = Arrays.copyOf(all, LENGTH);
        byte[] expected = checksum(key);
        if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(all, LENGTH, all.length))) {
            throw new IllegalArgumentException(
                    "node ID checksum does not match: is there a typo in '" + nodeId.strip() + "'?");
        }
        NodeKey parsed = new NodeKey(key);
        parsed.text = t;
        return parsed;
    }

    /** A copy of the raw 32 bytes. */
    public byte[] bytes() {
        return key.clone();
    }

    /** Writes the raw key into {@code dst} at {@code offset} without copying it twice. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(key, 0, dst, offset, LENGTH);
    }

    /** The full node ID text. */
    public String nodeId() {
        String t = text;
        if (t == null) {
            t = encode(key);
            text = t; // benign race: every thread computes the same string
        }
        return t;
    }

    /** The first {@value #SHORT_LENGTH} characters of the node ID, for logs and tables. */
    public String shortId() {
        return nodeId().substring(0, SHORT_LENGTH);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof NodeKey other && Arrays.equals(key, other.key);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public int compareTo(NodeKey o) {
        return Arrays.compareUnsigned(key, o.key);
    }

    @Override
    public String toString() {
        return nodeId();
    }

    private static String encode(byte[] key) {
        byte[] all = Arrays.copyOf(key, LENGTH + CHECKSUM_LENGTH);
        System.arraycopy(checksum(key), 0, all, LENGTH, CHECKSUM_LENGTH);
        StringBuilder sb = new StringBuilder(TEXT_LENGTH);
        long buffer = 0;
        int bits = 0;
        for (byte b : all) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                sb.append(ALPHABET[(int) (buffer >>> bits) & 0x1F]);
            }
        }
        return sb.toString();
    }

    private static byte[] checksum(byte[] key) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(CHECKSUM_LABEL);
            sha.update(key);
            return Arrays.copyOf(sha.digest(), CHECKSUM_LENGTH);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required by the Java platform", e);
        }
    }
}
