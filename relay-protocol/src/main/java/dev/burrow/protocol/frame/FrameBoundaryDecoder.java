package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.ProtocolViolation.Kind.BAD_FIELD;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.FRAME_TOO_LARGE;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.UNEXPECTED_FRAME;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Finds the boundaries of type-length-value frames ({@code u8 type, u32 length, payload}) and
 * enforces their limits; the one home of this logic for the relay protocol ({@link RelayFrameDecoder})
 * and the relay mesh ({@code MeshFrameDecoder}), which only say what their types are and what the
 * current state accepts. Turning a payload into a record is the codec's job ({@link #decode}).
 *
 * <p>The length is read as unsigned and checked against the type's maximum (and the current state)
 * as soon as the 5-byte header is in, so an oversized or unexpected frame fails before its payload is
 * read or buffered. Unknown types, where the state allows them, are skipped as their bytes arrive
 * (never buffered) and surfaced as {@link #unknown} so handlers can count them. A violation is
 * raised as a {@link ProtocolViolation} through {@code exceptionCaught} (wrapped in a
 * {@code DecoderException} by Netty); after it, everything the peer sends is discarded.
 *
 * @param <T> the protocol's frame type
 */
public abstract class FrameBoundaryDecoder<T> extends ByteToMessageDecoder {
    /** Bytes of an unknown frame still to skip. */
    private long skipping;

    private boolean failed;

    /** The type with {@code code}, or null when unknown. */
    protected abstract T type(int code);

    protected abstract int maxPayload(T type);

    /** Null when {@code type} is accepted now, else why not (the violation's message). */
    protected abstract String refusal(T type);

    /** Null when unknown types are skipped now, else why {@code code} is refused. */
    protected abstract String unknownRefusal(int code);

    /** Largest unknown frame skipped. */
    protected abstract long maxUnknownPayload();

    /** The message when an unknown frame of {@code length} bytes exceeds {@link #maxUnknownPayload()}. */
    protected abstract String unknownTooLarge(int code, long length);

    /** The payload as a record (the payload slice is only valid during the call). */
    protected abstract Object decode(T type, ByteBuf payload);

    /** What is passed on for a skipped unknown frame. */
    protected abstract Object unknown(int code, int length);

    @Override
    protected final void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (skipping > 0) {
            int n = (int) Math.min(skipping, in.readableBytes());
            in.skipBytes(n);
            skipping -= n;
            return;
        }
        if (in.readableBytes() < FrameLimits.HEADER_LENGTH) {
            return;
        }
        int start = in.readerIndex();
        int code = in.getUnsignedByte(start);
        long length = in.getUnsignedInt(start + 1);
        T type = type(code);
        if (type == null) {
            String refused = unknownRefusal(code);
            if (refused != null) {
                throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, refused));
            }
            if (length > maxUnknownPayload()) {
                throw fail(in, new ProtocolViolation(FRAME_TOO_LARGE, unknownTooLarge(code, length)));
            }
            in.skipBytes(FrameLimits.HEADER_LENGTH);
            skipping = length;
            out.add(unknown(code, (int) length));
            int n = (int) Math.min(skipping, in.readableBytes());
            in.skipBytes(n);
            skipping -= n;
            return;
        }
        String refused = refusal(type);
        if (refused != null) {
            throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, refused));
        }
        if (length > maxPayload(type)) {
            throw fail(
                    in,
                    new ProtocolViolation(
                            FRAME_TOO_LARGE, type + " of " + length + " bytes exceeds " + maxPayload(type)));
        }
        if (in.readableBytes() < FrameLimits.HEADER_LENGTH + length) {
            return; // wait for the rest; the cumulation is bounded by the type's maximum
        }
        in.skipBytes(FrameLimits.HEADER_LENGTH);
        ByteBuf payload = in.readSlice((int) length);
        try {
            out.add(decode(type, payload));
        } catch (ProtocolViolation e) {
            throw fail(in, e);
        } catch (IllegalArgumentException e) {
            // A record's own validation refused a field the codec let through: still the peer's fault.
            throw fail(in, new ProtocolViolation(BAD_FIELD, type + ": " + e.getMessage()));
        }
    }

    private ProtocolViolation fail(ByteBuf in, ProtocolViolation e) {
        failed = true; // discard anything else the peer sends while the connection is being closed
        in.skipBytes(in.readableBytes()); // and free what was buffered now, not when the channel closes
        return e;
    }
}
