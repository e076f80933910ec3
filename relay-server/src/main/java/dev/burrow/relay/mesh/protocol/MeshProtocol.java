package dev.burrow.relay.mesh.protocol;

/** Constants of the relay-to-relay mesh protocol; frame layouts are in {@link MeshFrameType}. */
public final class MeshProtocol {
    private MeshProtocol() {}

    /**
     * Mesh protocol version. History: 1 (this version) = HELLO/AUTH (HMAC challenge-response bound to
     * the acceptor's TLS certificate), PRESENT/GONE, DATAGRAM, CIRCUIT_REQUEST/ACCEPTED/REJECTED/ATTACH;
     * later NAMES (0x12), added without a bump (an older relay skips it as an unknown type); later
     * pooled circuit connections (purpose 3, CIRCUIT_BIND 0x34, plain TCP allowed), added without a
     * bump: an older relay refuses purpose 3 in HELLO and the dialer falls back to purpose 2.
     */
    public static final int VERSION = 1;
    /** Path of the HTTP Upgrade on the relay's public listener. */
    public static final String PATH = "/v1/mesh";
    /** {@code Upgrade:} token of a mesh connection. */
    public static final String UPGRADE_TOKEN = "burrow-mesh-v1";
    /** Relay process identity for self-mesh detection: random, 128 bits so two relays never collide. */
    public static final int INSTANCE_ID_LENGTH = 16;
    /** Fresh per-connection randomness each side contributes to the authenticated transcript. */
    public static final int NONCE_LENGTH = 32;
    /** Keys per PRESENT/GONE frame: 32 KiB frames keep one frame from hogging a link. */
    public static final int MAX_KEYS_PER_PRESENCE = 1024;
    /**
     * (key, name) entries per NAMES frame: 256 entries of at most 96 bytes keep a frame under 24 KiB,
     * below a full PRESENT, so names never hog a link either.
     */
    public static final int MAX_NAMES_PER_FRAME = 256;

    /** What a mesh connection is for. */
    public enum Purpose {
        /** Presence, datagrams and circuit signalling. */
        LINK(1),
        /** One circuit's bytes, after a CIRCUIT_ATTACH (token in the frame: only over TLS). */
        CIRCUIT(2),
        /**
         * A pre-opened circuit connection: authenticated, then idle in the dialer's pool until one
         * CIRCUIT_BIND (a MAC over this connection's HELLOs, the circuit ID and its token; the token
         * itself never crosses) gives it a circuit. May run on plain TCP: the circuit's bytes are the
         * agents' end-to-end TLS.
         */
        POOLED_CIRCUIT(3);

        private final int code;

        Purpose(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        /** The purpose for {@code code}, or null. */
        public static Purpose of(int code) {
            for (Purpose p : values()) {
                if (p.code == code) {
                    return p;
                }
            }
            return null;
        }
    }
}
