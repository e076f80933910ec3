package dev.burrow.relay.mesh;

import dev.burrow.protocol.frame.FrameBoundaryDecoder;
import io.netty.buffer.ByteBuf;

/**
 * Mesh frame boundaries ({@link FrameBoundaryDecoder}); {@link MeshCodec} turns payloads into records.
 * Before authentication only HELLO and AUTH are accepted and unknown types are an error (nothing
 * unauthenticated may make us skip bytes); afterwards unknown types are skipped as their bytes arrive
 * (never buffered) and surfaced as {@link MeshFrame.Unknown}.
 */
public final class MeshFrameDecoder extends FrameBoundaryDecoder<MeshFrameType> {
    /** Largest unknown frame skipped after authentication: the largest known one. */
    static final int MAX_UNKNOWN_PAYLOAD = MeshFrameType.DATAGRAM.maxPayload();

    private boolean authenticated;

    /** From the next frame on, accept every type (called once both sides proved the key). */
    public void authenticated() {
        this.authenticated = true;
    }

    @Override
    protected MeshFrameType type(int code) {
        return MeshFrameType.of(code);
    }

    @Override
    protected int maxPayload(MeshFrameType type) {
        return type.maxPayload();
    }

    @Override
    protected String refusal(MeshFrameType type) {
        return authenticated || type == MeshFrameType.HELLO || type == MeshFrameType.AUTH
                ? null
                : type + " before authentication";
    }

    @Override
    protected String unknownRefusal(int code) {
        return authenticated ? null : "unknown mesh frame 0x" + Integer.toHexString(code) + " before authentication";
    }

    @Override
    protected long maxUnknownPayload() {
        return MAX_UNKNOWN_PAYLOAD;
    }

    @Override
    protected String unknownTooLarge(int code, long length) {
        return "unknown mesh frame of " + length + " bytes";
    }

    @Override
    protected Object decode(MeshFrameType type, ByteBuf payload) {
        return MeshCodec.decode(type, payload);
    }

    @Override
    protected Object unknown(int code, int length) {
        return new MeshFrame.Unknown(code, length);
    }
}
