package dev.burrow.stun.codec;

import io.netty.buffer.ByteBuf;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.random.RandomGenerator;

/**
 * The 96-bit STUN transaction ID (RFC 8489 §6), held as two numbers so that it is a value
 * (equals/hashCode) and costs no array.
 *
 * @param high the first 8 bytes, big-endian
 * @param low  the last 4 bytes, big-endian
 */
public record TransactionId(long high, int low) {
    /** Bytes in a transaction ID on the wire. */
    public static final int LENGTH = 12;

    private static final SecureRandom RANDOM = new SecureRandom();

    /** A fresh, cryptographically random ID: RFC 8489 requires IDs an off-path attacker cannot guess. */
    public static TransactionId random() {
        return random(RANDOM);
    }

    public static TransactionId random(RandomGenerator random) {
        return new TransactionId(random.nextLong(), random.nextInt());
    }

    /** Reads 12 bytes at an absolute index without moving the reader index. */
    public static TransactionId read(ByteBuf buf, int index) {
        return new TransactionId(buf.getLong(index), buf.getInt(index + 8));
    }

    public static TransactionId of(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException("a transaction ID has 12 bytes, not " + bytes.length);
        }
        long h = 0;
        for (int i = 0; i < 8; i++) {
            h = (h << 8) | (bytes[i] & 0xFF);
        }
        int l = 0;
        for (int i = 8; i < 12; i++) {
            l = (l << 8) | (bytes[i] & 0xFF);
        }
        return new TransactionId(h, l);
    }

    public void write(ByteBuf out) {
        out.writeLong(high);
        out.writeInt(low);
    }

    public byte[] toBytes() {
        byte[] b = new byte[LENGTH];
        for (int i = 0; i < 8; i++) {
            b[i] = (byte) (high >>> (56 - 8 * i));
        }
        for (int i = 0; i < 4; i++) {
            b[8 + i] = (byte) (low >>> (24 - 8 * i));
        }
        return b;
    }

    @Override
    public String toString() {
        return HexFormat.of().formatHex(toBytes());
    }
}
