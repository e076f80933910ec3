package dev.burrow.protocol;

/**
 * Constants of the Burrow relay protocol that are not frame layouts: versions, HTTP paths and
 * upgrade tokens. The frames themselves are described by {@link dev.burrow.protocol.frame.FrameType}
 * and, for humans, in {@code docs/protocol.md}.
 *
 * <h2>Version history</h2>
 * <ul>
 *   <li><b>1</b> (0.1.0): first version. Control connection with challenge/response auth, keyed
 *       datagrams, peer presence, ping/pong, keepalive, health, restarting, rate-limit notice,
 *       relay circuits (request, offer, accept, reject, attach).</li>
 *   <li>1, 0.2.0 (no version bump: additions only): public ingress. PUBLISH, UNPUBLISH, PUBLISHED,
 *       PUBLISH_REFUSED (0x50-0x53) and a trailing {@code u8 flags} on CIRCUIT_OFFER (bit 0 =
 *       INGRESS). Older clients skip the new relay frames; an older relay never publishes, so never
 *       sends an ingress offer.</li>
 *   <li>1, 0.2.0 (no version bump: additions only): name resolution. LOOKUP_NAME / NAME_RESULT
 *       (0x60/0x61): names of CA-issued certificates resolved through the relay. An older relay
 *       skips LOOKUP_NAME; the client's lookup times out.</li>
 *   <li>1, 0.3.0 (no version bump: addition only): a trailing {@code u16 stunPort} on SERVER_ACCEPT,
 *       the relay's STUN server port on its host (0 = none). Older clients ignore it; from an older
 *       relay it is absent and clients assume 3478.</li>
 * </ul>
 * A relay speaks every version from {@link #MIN_VERSION} to {@link #VERSION}; the client states the
 * version it speaks in CLIENT_AUTH and the relay refuses versions it does not know with DENY
 * {@code UNSUPPORTED_VERSION}. New frame types never need a version bump: receivers skip unknown
 * types (see {@link dev.burrow.protocol.frame.FrameLimits#MAX_UNKNOWN_PAYLOAD}).
 */
public final class RelayProtocol {
    private RelayProtocol() {}

    /** The protocol version this build speaks. */
    public static final int VERSION = 1;
    /** The oldest version this build accepts from a peer. */
    public static final int MIN_VERSION = 1;

    /** HTTP path of the control connection (HTTP/1.1 Upgrade or WebSocket). */
    public static final String CONTROL_PATH = "/v1/relay";
    /** HTTP path of circuit connections (HTTP/1.1 Upgrade or WebSocket). */
    public static final String CIRCUIT_PATH = "/v1/circuit";
    /** The {@code Upgrade:} token of the raw TCP mode (after {@code 101} the socket carries frames). */
    public static final String UPGRADE_TOKEN = "burrow-relay-v1";
    /** The WebSocket subprotocol; each binary message carries exactly one frame or circuit data. */
    public static final String WEBSOCKET_SUBPROTOCOL = "burrow-relay-v1";
    /** HTTP path of the enrolment endpoint (join token in, node certificate out). */
    public static final String ENROL_PATH = "/v1/enrol";

    /** Length of the relay's per-connection auth challenge (fresh random bytes). */
    public static final int CHALLENGE_LENGTH = 32;
    /** Ed25519 signatures are 64 bytes (RFC 8032). */
    public static final int SIGNATURE_LENGTH = 64;
    /** Circuit IDs are random and unguessable: 128 bits. */
    public static final int CIRCUIT_ID_LENGTH = 16;
    /** Circuit attach tokens are single-use bearer secrets: 256 bits. */
    public static final int CIRCUIT_TOKEN_LENGTH = 32;

    /**
     * Largest read of a byte splice (the relay's CircuitProxy and the agent's Splice, which cannot
     * share code: relay-server and relay-client never import each other, so the rule lives here).
     * With auto-read off each read request reads once, so this is what one wake-up moves: a bulk
     * transfer fills it, an interactive one allocates small buffers.
     */
    public static final int SPLICE_MAX_READ = 256 * 1024;
}
