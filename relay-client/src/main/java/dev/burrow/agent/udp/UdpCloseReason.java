package dev.burrow.agent.udp;

/** Why a flow ended (CLOSE / CLOSED reason byte, status and metrics). */
public enum UdpCloseReason {
    IDLE(1),
    SERVICE_REMOVED(2),
    SHUTDOWN(3),
    TARGET_ERROR(4),
    UNANSWERED(5),
    REFUSED(6),
    PEER_CLOSED(7),
    OTHER(255);

    private final int code;

    UdpCloseReason(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static UdpCloseReason of(int code) {
        for (UdpCloseReason r : values()) {
            if (r.code == code) {
                return r;
            }
        }
        return OTHER;
    }
}
