package dev.burrow.protocol.frame;

import dev.burrow.protocol.RelayProtocol;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/** A relay circuit's random 128-bit identifier (not a secret: it names a circuit in logs and frames). */
public final class CircuitId {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final byte[] bytes;

    private CircuitId(byte[] bytes) {
        this.bytes = bytes;
    }

    public static CircuitId random() {
        byte[] b = new byte[RelayProtocol.CIRCUIT_ID_LENGTH];
        RANDOM.nextBytes(b);
        return new CircuitId(b);
    }

    public static CircuitId of(byte[] bytes) {
        if (bytes.length != RelayProtocol.CIRCUIT_ID_LENGTH) {
            throw new IllegalArgumentException("circuit IDs are " + RelayProtocol.CIRCUIT_ID_LENGTH + " bytes");
        }
        return new CircuitId(bytes.clone());
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CircuitId c && Arrays.equals(bytes, c.bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(bytes);
    }
}
