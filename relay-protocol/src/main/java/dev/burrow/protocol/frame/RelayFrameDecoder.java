package dev.burrow.protocol.frame;

import io.netty.buffer.ByteBuf;

/**
 * Relay-protocol frame boundaries ({@link FrameBoundaryDecoder}); turning a payload into a record is
 * {@link FrameCodec}'s job. What is accepted is the current {@link FramePolicy}: which types, and
 * whether unknown types are skipped (up to {@link FrameLimits#MAX_UNKNOWN_PAYLOAD}) or refused. The
 * handler above decides what to send before closing on a violation.
 */
public final class RelayFrameDecoder extends FrameBoundaryDecoder<FrameType> {
    private FramePolicy policy;

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
    protected FrameType type(int code) {
        return FrameType.fromCode(code);
    }

    @Override
    protected int maxPayload(FrameType type) {
        return type.maxPayload();
    }

    @Override
    protected String refusal(FrameType type) {
        return policy.accepts(type) ? null : type + " not allowed in state " + policy;
    }

    @Override
    protected String unknownRefusal(int code) {
        return policy.skipsUnknown()
                ? null
                : "unknown frame type 0x" + Integer.toHexString(code) + " not allowed in state " + policy;
    }

    @Override
    protected long maxUnknownPayload() {
        return FrameLimits.MAX_UNKNOWN_PAYLOAD;
    }

    @Override
    protected String unknownTooLarge(int code, long length) {
        return "unknown frame type 0x" + Integer.toHexString(code) + " of " + length + " bytes exceeds "
                + FrameLimits.MAX_UNKNOWN_PAYLOAD;
    }

    @Override
    protected Object decode(FrameType type, ByteBuf payload) {
        return policy.side().decode(type, payload);
    }

    @Override
    protected Object unknown(int code, int length) {
        return new Frame.Unknown(code, length);
    }
}
