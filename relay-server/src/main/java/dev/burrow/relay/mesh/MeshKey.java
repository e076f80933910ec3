package dev.burrow.relay.mesh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/**
 * The fleet's shared mesh key: 32 bytes, stored as 64 hex characters (a file or a Kubernetes Secret,
 * surrounding white space ignored). It is only ever used as an HMAC key ({@link MeshAuth}): it never
 * crosses the wire, and neither {@link #toString()} nor any error message contains it.
 *
 * <p><b>Rotation.</b> The file may hold a second key on a second line: this relay proves the first
 * key and accepts a sibling that proves either, so a fleet can move from one key to another without
 * a partition (see {@code docs/operations.md}).
 */
public final class MeshKey {
    public static final int LENGTH = 32;
    public static final int HEX_LENGTH = 2 * LENGTH;
    /** A key file is one line; anything larger is not a key file. */
    private static final long MAX_FILE_BYTES = 4096;

    /** The current key and the one also accepted during a rotation. */
    private static final int MAX_KEYS = 2;

    private final byte[] key;
    private final byte[] alsoAccepted; // null when none

    private MeshKey(byte[] key, byte[] alsoAccepted) {
        this.key = key;
        this.alsoAccepted = alsoAccepted;
    }

    /** The key cannot be used; the message says why without quoting it. */
    public static final class MeshKeyException extends Exception {
        public MeshKeyException(String message) {
            super(message);
        }
    }

    /**
     * Parses 64 hex characters (white space around them ignored), optionally followed on the next
     * line by a second key that is accepted too (rotation).
     */
    public static MeshKey parse(String text) throws MeshKeyException {
        String all = text == null ? "" : text.strip();
        String[] lines = all.split("\\s*\\R\\s*");
        if (lines.length > MAX_KEYS) {
            throw new MeshKeyException("the mesh key file holds at most " + MAX_KEYS + " keys (current, then the one "
                    + "also accepted during a rotation), got " + lines.length + " lines");
        }
        byte[] first = parseOne(lines[0], lines.length > 1 ? "the first mesh key" : "the mesh key");
        byte[] second = lines.length > 1 ? parseOne(lines[1], "the second mesh key") : null;
        return new MeshKey(first, second);
    }

    private static byte[] parseOne(String line, String what) throws MeshKeyException {
        String s = line.strip();
        if (s.isEmpty()) {
            throw new MeshKeyException(what + " is empty");
        }
        if (s.length() != HEX_LENGTH) {
            throw new MeshKeyException(what + " must be " + HEX_LENGTH + " hex characters (32 random bytes), got "
                    + s.length() + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                throw new MeshKeyException(
                        what + " must be " + HEX_LENGTH + " hex characters; character " + (i + 1) + " is not hex");
            }
        }
        return HexFormat.of().parseHex(s);
    }

    /** Reads a key file; the message names the file, never its content. */
    public static MeshKey read(Path file) throws MeshKeyException {
        try {
            if (!Files.isRegularFile(file)) {
                throw new MeshKeyException("mesh key file " + file + " does not exist or is not a file");
            }
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new MeshKeyException("mesh key file " + file + " is too large to be a key");
            }
            return parse(new String(Files.readAllBytes(file), StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new MeshKeyException(
                    "cannot read mesh key file " + file + ": " + e.getClass().getSimpleName());
        } catch (MeshKeyException e) {
            throw e.getMessage().contains(file.toString()) ? e : new MeshKeyException(file + ": " + e.getMessage());
        }
    }

    /** The key this relay proves. */
    byte[] bytes() {
        return key.clone();
    }

    /**
     * A one-way fingerprint of one key, so a link can remember which key its sibling proved without
     * keeping the key itself: SHA-256 over a label and the key. Never logged (it would let anyone
     * holding a candidate key confirm it offline).
     */
    static byte[] fingerprint(byte[] key) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            d.update(FINGERPRINT_LABEL);
            return d.digest(key);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final byte[] FINGERPRINT_LABEL = "burrow-mesh-v1 key id".getBytes(StandardCharsets.US_ASCII);

    /** True when the key with this {@link #fingerprint} is still proved or accepted (constant time per key). */
    boolean stillAccepts(byte[] fingerprint) {
        boolean ok = false;
        for (byte[] k : accepted()) {
            ok |= MessageDigest.isEqual(fingerprint(k), fingerprint);
            Arrays.fill(k, (byte) 0);
        }
        return ok;
    }

    /** Every key a sibling may prove: the current one, and during a rotation the other. */
    List<byte[]> accepted() {
        return alsoAccepted == null ? List.of(key.clone()) : List.of(key.clone(), alsoAccepted.clone());
    }

    @Override
    public String toString() {
        return "MeshKey[redacted]";
    }
}
