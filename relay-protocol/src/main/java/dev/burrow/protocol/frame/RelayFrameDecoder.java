package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.ProtocolViolation.Kind.BAD_FIELD;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.FRAME_TOO_LARGE;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.UNEXPECTED_FRAME;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Finds frame boundaries and enforces limits; turning a payload into a record is
 * {@link FrameCodec}'s job. The length field is read as unsigned and checked against the type's
 * maximum (and the current {@link FramePolicy}) as soon as the 5-byte header is in, so an oversized
 * or unexpected frame closes the connection before its payload is read or buffered.
 *
 * <p>Unknown frame types are skipped as their bytes arrive (never buffered) and surfaced as
 * {@link Frame.Unknown} so handlers can count them. A violation is raised as a
 * {@link ProtocolViolation} through {@code exceptionCaught} (wrapped in a {@code DecoderException}
 * by Netty); the handler above decides what to send before closing.
 */
public final class RelayFrameDecoder extends ByteToMessageDecoder {
    private FramePolicy policy;
    /** Bytes of an unknown frame still to skip. */
    private long skipping;
    private boolean failed;

    public RelayFrameDecoder(FramePolicy policy) {
        this.policy = policy;
    }

    /** Changes what is accepted from the next frame on (for example after authentication). */
    public void policy(FramePolicy policy) {
        this.policy = policy;
    }

    public FramePolicy policy() {
        return policy;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
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
        FrameType type = FrameType.fromCode(code);
        if (type == null) {
            if (!policy.skipsUnknown()) {
                throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, "unknown frame type 0x" + Integer.toHexString(code)
                        + " not allowed in state " + policy));
            }
            if (length > FrameLimits.MAX_UNKNOWN_PAYLOAD) {
                throw fail(in, new ProtocolViolation(FRAME_TOO_LARGE, "unknown frame type 0x" + Integer.toHexString(code)
                        + " of " + length + " bytes exceeds " + FrameLimits.MAX_UNKNOWN_PAYLOAD));
            }
            in.skipBytes(FrameLimits.HEADER_LENGTH);
            skipping = length;
            out.add(new Frame.Unknown(code, (int) length));
            int n = (int) Math.min(skipping, in.readableBytes());
            in.skipBytes(n);
            skipping -= n;
            return;
        }
        if (!policy.accepts(type)) {
            throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, type + " not allowed in state " + policy));
        }
        if (length > type.maxPayload()) {
            throw fail(in, new ProtocolViolation(FRAME_TOO_LARGE, type + " of " + length + " bytes exceeds "
                    + type.maxPayload()));
        }
        if (in.readableBytes() < FrameLimits.HEADER_LENGTH + length) {
            return; // wait for the rest; the cumulation is bounded by maxPayload
        }
        in.skipBytes(FrameLimits.HEADER_LENGTH);
        ByteBuf payload = in.readSlice((int) length);
        try {
            out.add(policy.side().decode(type, payload));
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
