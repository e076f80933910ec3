package dev.burrow.protocol.frame;

/** Why a node is not reachable (PEER_GONE). Codes are stable; unknown codes decode as {@link #UNKNOWN}. */
public enum PeerGoneReason {
    /** It was connected and has disconnected. */
    DISCONNECTED(0),
    /** It is not connected to this relay (nor, with a mesh, to any sibling). */
    NOT_HERE(1),
    /** It was reachable through a sibling relay and that mesh link broke. */
    MESH_LINK_BROKEN(2),
    UNKNOWN(255);

    private final int code;

    PeerGoneReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static PeerGoneReason fromCode(int code) {
        for (PeerGoneReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return UNKNOWN;
    }
}
