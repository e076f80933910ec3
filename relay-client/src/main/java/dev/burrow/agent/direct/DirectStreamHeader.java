package dev.burrow.agent.direct;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * The first bytes of every QUIC stream on the direct path, before the stream's OPEN: {@code str8
 * service} (u8 length, 1-63 bytes of {@code a-z 0-9 . _ -}, starting with a letter or digit). It
 * plays the part of the relay's CIRCUIT_OFFER service: the listener's gate requires the OPEN that
 * follows to name the same service. The peer identity is not in it: it is the QUIC connection's
 * TLS-verified node. (ALPN {@code burrow-direct/2}: no TLS inside the stream, see docs/protocol.md.)
 */
public final class DirectStreamHeader {
    /** Service names are DNS-label sized (as in relay frames). */
    public static final int MAX_SERVICE_LENGTH = 63;

    private static final Pattern SERVICE = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");

    private DirectStreamHeader() {}

    public static boolean isValidService(String s) {
        return s != null && SERVICE.matcher(s).matches();
    }

    public static ByteBuf encode(String service, ByteBufAllocator alloc) {
        byte[] b = encodeBytes(service);
        return alloc.buffer(b.length).writeBytes(b);
    }

    /** The header as bytes. */
    public static byte[] encodeBytes(String service) {
        if (!isValidService(service)) {
            throw new IllegalArgumentException("invalid service name");
        }
        byte[] b = service.getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[1 + b.length];
        out[0] = (byte) b.length;
        System.arraycopy(b, 0, out, 1, b.length);
        return out;
    }

    /**
     * Decodes a header from the front of {@code in} when it is complete: returns the service and
     * consumes it; returns null (consuming nothing) when more bytes are needed.
     *
     * @throws IllegalArgumentException when the header is invalid (the stream is closed)
     */
    public static String decode(ByteBuf in) {
        if (!in.isReadable()) {
            return null;
        }
        int len = in.getUnsignedByte(in.readerIndex());
        if (len == 0 || len > MAX_SERVICE_LENGTH) {
            throw new IllegalArgumentException("service name length " + len);
        }
        if (in.readableBytes() < 1 + len) {
            return null;
        }
        String s = in.toString(in.readerIndex() + 1, len, StandardCharsets.US_ASCII);
        if (!isValidService(s)) {
            throw new IllegalArgumentException("invalid service name");
        }
        in.skipBytes(1 + len);
        return s;
    }
}
