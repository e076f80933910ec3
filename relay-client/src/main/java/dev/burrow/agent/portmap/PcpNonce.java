package dev.burrow.agent.portmap;

import java.security.SecureRandom;
import java.util.Arrays;
import java.util.HexFormat;

/** The 96-bit mapping nonce of a PCP MAP request (RFC 6887 section 11.1): the answer must repeat it. */
public record PcpNonce(byte[] bytes) {
    public static final int LENGTH = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    public PcpNonce {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a PCP nonce is " + LENGTH + " bytes, not " + bytes.length);
        }
        bytes = bytes.clone();
    }

    public static PcpNonce random() {
        byte[] b = new byte[LENGTH];
        RANDOM.nextBytes(b);
        return new PcpNonce(b);
    }

    @Override
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PcpNonce n && Arrays.equals(bytes, n.bytes);
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
