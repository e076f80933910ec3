package dev.burrow.relay.mesh;

import static dev.burrow.protocol.frame.ProtocolViolation.Kind.FRAME_TOO_LARGE;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.UNEXPECTED_FRAME;

import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Finds mesh frame boundaries and enforces limits; {@link MeshCodec} turns payloads into records.
 * The unsigned length is checked against the type's maximum as soon as the header is in. Before
 * authentication only HELLO and AUTH are accepted and unknown types are an error (nothing
 * unauthenticated may make us skip bytes); afterwards unknown types are skipped as their bytes
 * arrive (never buffered) and surfaced as {@link MeshFrame.Unknown}.
 */
public final class MeshFrameDecoder extends ByteToMessageDecoder {
    /** Largest unknown frame skipped after authentication: the largest known one. */
    static final int MAX_UNKNOWN_PAYLOAD = MeshFrameType.DATAGRAM.maxPayload();

    private boolean authenticated;
    private long skipping;
    private boolean failed;

    /** From the next frame on, accept every type (called once both sides proved the key). */
    public void authenticated() {
        this.authenticated = true;
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
        MeshFrameType type = MeshFrameType.of(code);
        if (type == null) {
            if (!authenticated) {
                throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, "unknown mesh frame 0x" + Integer.toHexString(code)
                        + " before authentication"));
            }
            if (length > MAX_UNKNOWN_PAYLOAD) {
                throw fail(in, new ProtocolViolation(FRAME_TOO_LARGE, "unknown mesh frame of " + length + " bytes"));
            }
            in.skipBytes(FrameLimits.HEADER_LENGTH);
            skipping = length;
            out.add(new MeshFrame.Unknown(code, (int) length));
            int n = (int) Math.min(skipping, in.readableBytes());
            in.skipBytes(n);
            skipping -= n;
            return;
        }
        if (!authenticated && type != MeshFrameType.HELLO && type != MeshFrameType.AUTH) {
            throw fail(in, new ProtocolViolation(UNEXPECTED_FRAME, type + " before authentication"));
        }
        if (length > type.maxPayload()) {
            throw fail(in, new ProtocolViolation(FRAME_TOO_LARGE, type + " of " + length + " bytes exceeds " + type.maxPayload()));
        }
        if (in.readableBytes() < FrameLimits.HEADER_LENGTH + length) {
            return;
        }
        in.skipBytes(FrameLimits.HEADER_LENGTH);
        ByteBuf payload = in.readSlice((int) length);
        try {
            out.add(MeshCodec.decode(type, payload));
        } catch (ProtocolViolation v) {
            throw fail(in, v);
        }
    }

    private ProtocolViolation fail(ByteBuf in, ProtocolViolation v) {
        failed = true;
        in.skipBytes(in.readableBytes());
        return v;
    }
}
