package dev.burrow.protocol.frame;

import java.util.EnumSet;
import java.util.Set;

/**
 * Which frame types a decoder accepts at this stage of a connection. A frame of a known type that
 * is not accepted, or whose length is over the type's maximum, closes the connection right after
 * its header, before its payload is read or allocated.
 */
public final class FramePolicy {
    private final FrameCodec.Side side;
    private final Set<FrameType> accepted;
    private final boolean skipUnknown;
    private final String name;

    private FramePolicy(String name, FrameCodec.Side side, Set<FrameType> accepted, boolean skipUnknown) {
        this.name = name;
        this.side = side;
        this.accepted = accepted;
        this.skipUnknown = skipUnknown;
    }

    /**
     * A relay before the client authenticated: only CLIENT_AUTH (at most {@link FrameLimits#MAX_AUTH_PAYLOAD}),
     * and unknown types are not skipped (nothing unauthenticated may make the relay read 64 KiB).
     */
    public static final FramePolicy RELAY_AWAITING_AUTH =
            new FramePolicy("awaiting-auth", FrameCodec.Side.RELAY, EnumSet.of(FrameType.CLIENT_AUTH), false);

    /** A relay on an authenticated control connection: every client frame except auth and attach. */
    public static final FramePolicy RELAY_CONTROL = new FramePolicy(
            "control",
            FrameCodec.Side.RELAY,
            EnumSet.of(
                    FrameType.SEND_DATAGRAM,
                    FrameType.PING,
                    FrameType.PONG,
                    FrameType.CIRCUIT_REQUEST,
                    FrameType.CIRCUIT_ACCEPT,
                    FrameType.CIRCUIT_REJECT,
                    FrameType.PUBLISH,
                    FrameType.UNPUBLISH,
                    FrameType.LOOKUP_NAME),
            true);

    /** A relay on a circuit connection before attachment: only CIRCUIT_ATTACH. */
    public static final FramePolicy RELAY_AWAITING_ATTACH =
            new FramePolicy("awaiting-attach", FrameCodec.Side.RELAY, EnumSet.of(FrameType.CIRCUIT_ATTACH), false);

    /** A client on a control connection: every relay frame except CIRCUIT_ATTACHED. */
    public static final FramePolicy CLIENT_CONTROL;

    /** A client on a circuit connection waiting for CIRCUIT_ATTACHED (or DENY). */
    public static final FramePolicy CLIENT_AWAITING_ATTACHED = new FramePolicy(
            "awaiting-attached", FrameCodec.Side.CLIENT, EnumSet.of(FrameType.CIRCUIT_ATTACHED, FrameType.DENY), false);

    static {
        EnumSet<FrameType> relaySent = EnumSet.noneOf(FrameType.class);
        for (FrameType t : FrameType.values()) {
            if (t.sentByRelay() && t != FrameType.CIRCUIT_ATTACHED) {
                relaySent.add(t);
            }
        }
        CLIENT_CONTROL = new FramePolicy("client-control", FrameCodec.Side.CLIENT, relaySent, true);
    }

    FrameCodec.Side side() {
        return side;
    }

    boolean accepts(FrameType type) {
        return accepted.contains(type);
    }

    boolean skipsUnknown() {
        return skipUnknown;
    }

    @Override
    public String toString() {
        return name;
    }
}
