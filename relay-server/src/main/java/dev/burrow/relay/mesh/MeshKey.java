package dev.burrow.relay.mesh;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;

/**
 * The fleet's shared mesh key: 32 bytes, stored as 64 hex characters (a file or a Kubernetes Secret,
 * surrounding white space ignored). It is only ever used as an HMAC key ({@link MeshAuth}): it never
 * crosses the wire, and neither {@link #toString()} nor any error message contains it.
 */
public final class MeshKey {
    public static final int LENGTH = 32;
    public static final int HEX_LENGTH = 2 * LENGTH;
    /** A key file is one line; anything larger is not a key file. */
    private static final long MAX_FILE_BYTES = 4096;

    private final byte[] key;

    private MeshKey(byte[] key) {
        this.key = key;
    }

    /** The key cannot be used; the message says why without quoting it. */
    public static final class MeshKeyException extends Exception {
        public MeshKeyException(String message) {
            super(message);
        }
    }

    /** Parses 64 hex characters (white space around them ignored). */
    public static MeshKey parse(String text) throws MeshKeyException {
        String s = text == null ? "" : text.strip();
        if (s.isEmpty()) {
            throw new MeshKeyException("the mesh key is empty");
        }
        if (s.length() != HEX_LENGTH) {
            throw new MeshKeyException("the mesh key must be " + HEX_LENGTH + " hex characters (32 random bytes), got "
                    + s.length() + " characters");
        }
        for (int i = 0; i < s.length(); i++) {
            if (Character.digit(s.charAt(i), 16) < 0) {
                throw new MeshKeyException("the mesh key must be " + HEX_LENGTH + " hex characters; character " + (i + 1)
                        + " is not hex");
            }
        }
        return new MeshKey(HexFormat.of().parseHex(s));
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
            throw new MeshKeyException("cannot read mesh key file " + file + ": " + e.getClass().getSimpleName());
        } catch (MeshKeyException e) {
            throw e.getMessage().contains(file.toString()) ? e : new MeshKeyException(file + ": " + e.getMessage());
        }
    }

    byte[] bytes() {
        return key.clone();
    }

    @Override
    public String toString() {
        return "MeshKey[redacted]";
    }
}
