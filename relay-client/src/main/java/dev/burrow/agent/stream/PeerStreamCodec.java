package dev.burrow.agent.stream;

import dev.burrow.protocol.frame.ServiceNames;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Pure encoding and decoding of peer stream preamble messages: a {@link ByteBuf} in, a record out.
 * No channel, no state. Decoding reads only within the given buffer and throws only
 * {@link PeerStreamDecodeException}.
 */
public final class PeerStreamCodec {
    private PeerStreamCodec() {}

    /** Encodes a whole message (header and payload) into a new buffer the caller owns. */
    public static ByteBuf encode(PeerStreamMessage message, ByteBufAllocator alloc) {
        ByteBuf out = alloc.buffer(PeerStreamLimits.HEADER_LENGTH + 64);
        try {
            encode(message, out);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }

    /** Appends a whole message (header and payload) to {@code out}. */
    public static void encode(PeerStreamMessage message, ByteBuf out) {
        int start = out.writerIndex();
        out.writeByte(typeCode(message));
        out.writeShort(0); // length, patched below
        switch (message) {
            case PeerStreamMessage.Open open -> {
                out.writeShort(open.version());
                writeStr8(out, open.service());
            }
            case PeerStreamMessage.Status status -> {
                out.writeByte(status.code().code());
                writeStr8(out, status.message());
            }
            case PeerStreamMessage.Unknown unknown -> out.writeBytes(unknown.payload());
        }
        int length = out.writerIndex() - start - PeerStreamLimits.HEADER_LENGTH;
        if (length > PeerStreamLimits.MAX_PAYLOAD) {
            throw new IllegalArgumentException(
                    "preamble payload of " + length + " bytes exceeds " + PeerStreamLimits.MAX_PAYLOAD);
        }
        out.setShort(start + 1, length);
    }

    /** The number of bytes {@link #encode} writes for this message. */
    public static int encodedLength(PeerStreamMessage message) {
        return PeerStreamLimits.HEADER_LENGTH
                + switch (message) {
                    case PeerStreamMessage.Open open -> 2 + 1 + utf8Length(open.service());
                    case PeerStreamMessage.Status status -> 1 + 1 + utf8Length(status.message());
                    case PeerStreamMessage.Unknown unknown -> unknown.payload().length;
                };
    }

    private static int typeCode(PeerStreamMessage message) {
        return switch (message) {
            case PeerStreamMessage.Open o -> PeerStreamMessageType.OPEN.code();
            case PeerStreamMessage.Status s -> PeerStreamMessageType.STATUS.code();
            case PeerStreamMessage.Unknown u -> u.type();
        };
    }

    /**
     * Decodes one message's payload.
     *
     * @param typeCode the header's type byte
     * @param payload exactly the payload bytes (the decoder has already checked the length limit)
     */
    public static PeerStreamMessage decode(int typeCode, ByteBuf payload) {
        if (payload.readableBytes() > PeerStreamLimits.MAX_PAYLOAD) {
            throw new PeerStreamDecodeException("preamble payload too large");
        }
        PeerStreamMessageType type = PeerStreamMessageType.fromCode(typeCode);
        if (type == null) {
            byte[] bytes = new byte[payload.readableBytes()];
            payload.readBytes(bytes);
            return new PeerStreamMessage.Unknown(typeCode, bytes);
        }
        return switch (type) {
            case OPEN -> {
                int version = readU16(payload, "version");
                String service = readStr8(payload, "service");
                if (!ServiceNames.isValid(service)) {
                    throw new PeerStreamDecodeException("invalid service name in OPEN");
                }
                yield new PeerStreamMessage.Open(version, service);
            }
            case STATUS -> {
                if (payload.readableBytes() < 1) {
                    throw new PeerStreamDecodeException("STATUS too short");
                }
                StreamStatusCode code = StreamStatusCode.fromCode(payload.readUnsignedByte());
                yield new PeerStreamMessage.Status(code, readStr8(payload, "message"));
            }
        };
    }

    /**
     * Decodes a whole message (header and payload) from {@code in}, for tests and tools.
     *
     * @throws PeerStreamDecodeException when {@code in} holds less than one message or breaks a limit
     */
    public static PeerStreamMessage decodeWhole(ByteBuf in) {
        if (in.readableBytes() < PeerStreamLimits.HEADER_LENGTH) {
            throw new PeerStreamDecodeException("preamble header too short");
        }
        int type = in.readUnsignedByte();
        int length = in.readUnsignedShort();
        if (length > PeerStreamLimits.MAX_PAYLOAD) {
            throw new PeerStreamDecodeException("preamble payload too large");
        }
        if (in.readableBytes() < length) {
            throw new PeerStreamDecodeException("preamble truncated");
        }
        return decode(type, in.readSlice(length));
    }

    private static int readU16(ByteBuf in, String field) {
        if (in.readableBytes() < 2) {
            throw new PeerStreamDecodeException(field + " missing");
        }
        return in.readUnsignedShort();
    }

    private static String readStr8(ByteBuf in, String field) {
        if (in.readableBytes() < 1) {
            throw new PeerStreamDecodeException(field + " missing");
        }
        int len = in.readUnsignedByte();
        if (in.readableBytes() < len) {
            throw new PeerStreamDecodeException(field + " truncated");
        }
        byte[] bytes = new byte[len];
        in.readBytes(bytes);
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new PeerStreamDecodeException(field + " is not UTF-8");
        }
    }

    private static void writeStr8(ByteBuf out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length > PeerStreamLimits.MAX_MESSAGE_BYTES) {
            throw new IllegalArgumentException("str8 longer than 255 bytes");
        }
        out.writeByte(b.length);
        out.writeBytes(b);
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    /** Null becomes empty; longer than {@link PeerStreamLimits#MAX_MESSAGE_BYTES} UTF-8 bytes is cut at a character boundary. */
    static String truncate(String s) {
        if (s == null) {
            return "";
        }
        if (s.getBytes(StandardCharsets.UTF_8).length <= PeerStreamLimits.MAX_MESSAGE_BYTES) {
            return s;
        }
        int end = Math.min(s.length(), PeerStreamLimits.MAX_MESSAGE_BYTES);
        while (s.substring(0, end).getBytes(StandardCharsets.UTF_8).length > PeerStreamLimits.MAX_MESSAGE_BYTES) {
            end--;
        }
        if (end > 0 && Character.isHighSurrogate(s.charAt(end - 1))) {
            end--;
        }
        return s.substring(0, end);
    }
}
