package dev.burrow.protocol.frame;

import dev.burrow.protocol.RelayProtocol;
import java.security.MessageDigest;
import java.security.SecureRandom;

/**
 * A single-use bearer secret that lets one end attach to a circuit. Compared in constant time,
 * never printed: {@link #toString()} is redacted.
 */
public final class CircuitToken {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final byte[] bytes;

    private CircuitToken(byte[] bytes) {
        this.bytes = bytes;
    }

    public static CircuitToken random() {
        byte[] b = new byte[RelayProtocol.CIRCUIT_TOKEN_LENGTH];
        RANDOM.nextBytes(b);
        return new CircuitToken(b);
    }

    public static CircuitToken of(byte[] bytes) {
        if (bytes.length != RelayProtocol.CIRCUIT_TOKEN_LENGTH) {
            throw new IllegalArgumentException("circuit tokens are " + RelayProtocol.CIRCUIT_TOKEN_LENGTH + " bytes");
        }
        return new CircuitToken(bytes.clone());
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    /** Constant-time comparison. */
    public boolean matches(CircuitToken other) {
        return other != null && MessageDigest.isEqual(bytes, other.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CircuitToken t && matches(t);
    }

    @Override
    public int hashCode() {
        // Circuits are looked up by circuit ID and the token is then compared in constant time; tokens
        // are never map keys (a hash lookup would leak timing). A constant hash leaks nothing.
        return 0;
    }

    @Override
    public String toString() {
        return "CircuitToken[redacted]";
    }

    /** Used only by the codec to write the bytes without a copy. */
    byte[] rawBytes() {
        return bytes;
    }
}
