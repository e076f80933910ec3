package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.ProtocolViolation.Kind.FRAME_TOO_SHORT;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;

/**
 * Field reads for the pure codecs ({@link FrameCodec}, the relay mesh's codec): every read checks
 * that the payload still holds the field before touching it (and before allocating for it) and
 * fails with {@link ProtocolViolation} {@code FRAME_TOO_SHORT}, never with Netty's
 * IndexOutOfBoundsException. Callers check their own count and length limits first.
 */
public final class BoundedReads {
    private BoundedReads() {}

    /** Fails unless {@code in} holds at least {@code n} more bytes; {@code field} names it in the error. */
    public static void need(ByteBuf in, int n, String field) {
        if (n < 0 || in.readableBytes() < n) {
            throw new ProtocolViolation(FRAME_TOO_SHORT, "frame too short for " + field);
        }
    }

    public static int readU8(ByteBuf in) {
        need(in, 1, "u8 field");
        return in.readUnsignedByte();
    }

    public static int readU16(ByteBuf in) {
        need(in, 2, "u16 field");
        return in.readUnsignedShort();
    }

    public static long readU32(ByteBuf in) {
        need(in, 4, "u32 field");
        return in.readUnsignedInt();
    }

    public static long readU64(ByteBuf in) {
        need(in, 8, "u64 field");
        return in.readLong();
    }

    public static byte[] readBytes(ByteBuf in, int n) {
        return readBytes(in, n, n + "-byte field");
    }

    public static byte[] readBytes(ByteBuf in, int n, String field) {
        need(in, n, field);
        byte[] b = new byte[n];
        in.readBytes(b);
        return b;
    }

    public static NodeKey readKey(ByteBuf in) {
        return NodeKey.of(readBytes(in, NodeKey.LENGTH, "key"));
    }

    public static CircuitId readCircuitId(ByteBuf in) {
        return CircuitId.of(readBytes(in, RelayProtocol.CIRCUIT_ID_LENGTH, "circuit id"));
    }

    public static CircuitToken readToken(ByteBuf in) {
        return CircuitToken.of(readBytes(in, RelayProtocol.CIRCUIT_TOKEN_LENGTH, "circuit token"));
    }
}
