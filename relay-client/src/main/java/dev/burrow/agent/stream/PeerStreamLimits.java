package dev.burrow.agent.stream;

/** Limits of the peer stream preamble, each with its reason. */
public final class PeerStreamLimits {
    /** type (1) + length (2). */
    public static final int HEADER_LENGTH = 3;
    /**
     * Largest payload a receiver buffers: the largest known message (STATUS, 257 bytes) with room
     * for fields added later; small enough that a preamble never costs real memory.
     */
    public static final int MAX_PAYLOAD = 512;
    /** Messages are for humans; longer ones are cut at a character boundary. */
    public static final int MAX_MESSAGE_BYTES = 255;

    private PeerStreamLimits() {}
}
