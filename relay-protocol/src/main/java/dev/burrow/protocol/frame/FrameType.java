package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.FrameLimits.MAX_AUTH_PAYLOAD;
import static dev.burrow.protocol.frame.FrameLimits.MAX_DATAGRAM_PAYLOAD;
import static dev.burrow.protocol.frame.FrameLimits.MAX_PING_DATA;
import static dev.burrow.protocol.frame.FrameLimits.MAX_SHORT_STRING;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;

/**
 * Every frame type of the relay protocol, its code, who sends it, and its largest payload.
 *
 * <p>Every frame on a control or circuit-attach connection is
 * <pre>
 *   type   u8        one of the codes below; unknown codes are skipped
 *   length u32 (BE)  payload length, unsigned; checked against {@link #maxPayload()} before anything is allocated
 *   payload           length bytes
 * </pre>
 * Notation for payloads: {@code key} = 32-byte Ed25519 public key ({@link NodeKey}); {@code str8} =
 * u8 length + that many UTF-8 bytes (at most {@value FrameLimits#MAX_SHORT_STRING}); {@code ...} = the
 * rest of the payload. All integers are big-endian and unsigned.
 *
 * <p>Direction: {@code C→R} client to relay, {@code R→C} relay to client, {@code both}.
 */
public enum FrameType {
    /**
     * {@code R→C} 0x01, first frame of a control connection.
     * <pre>u16 version | u16 minVersion | challenge[32] | str8 relayId</pre>
     * {@code challenge} is fresh random bytes for this connection; {@code relayId} names the relay
     * (pod name or host), for status output and self-mesh detection.
     */
    SERVER_HELLO(0x01, Direction.RELAY_TO_CLIENT, 2 + 2 + RelayProtocol.CHALLENGE_LENGTH + 1 + MAX_SHORT_STRING),
    /**
     * {@code C→R} 0x02, the only frame accepted before authentication.
     * <pre>u16 version | u16 flags | key | signature[64] | u16 chainLength | chain | str8 software</pre>
     * {@code signature} signs the challenge as described in {@code docs/identity.md} (never the raw
     * challenge bytes). {@code chain} is {@code chainLength} bytes of certificates, each
     * {@code u16 length | DER}, leaf first; empty in key-only mode. Flags: bit 0 = accepts circuits
     * (a listener), other bits reserved and zero.
     */
    CLIENT_AUTH(0x02, Direction.CLIENT_TO_RELAY, MAX_AUTH_PAYLOAD),
    /**
     * {@code R→C} 0x03, authentication succeeded.
     * <pre>u32 keepaliveMillis | u32 maxDatagram | str8 observedAddress [| u16 stunPort]</pre>
     * {@code observedAddress} is the client's source address as the relay sees it ({@code ip:port}).
     * {@code stunPort} (since 0.3.0, optional): the UDP port of the relay's STUN server on the relay's
     * host, 0 when it serves none; absent from older relays (clients then assume 3478).
     */
    SERVER_ACCEPT(0x03, Direction.RELAY_TO_CLIENT, 4 + 4 + 1 + MAX_SHORT_STRING + 2),
    /**
     * {@code R→C} 0x04, refusal; the relay closes the connection after sending it.
     * <pre>u8 reason ({@link DenyReason}) | str8 message</pre>
     */
    DENY(0x04, Direction.RELAY_TO_CLIENT, 1 + 1 + MAX_SHORT_STRING),

    /**
     * {@code C→R} 0x10, a datagram for another node.
     * <pre>key destination | payload...</pre> payload at most {@value FrameLimits#MAX_DATAGRAM_PAYLOAD} bytes.
     */
    SEND_DATAGRAM(0x10, Direction.CLIENT_TO_RELAY, NodeKey.LENGTH + MAX_DATAGRAM_PAYLOAD),
    /**
     * {@code R→C} 0x11, a datagram from another node; {@code source} is the sender's authenticated key.
     * <pre>key source | payload...</pre>
     */
    RECV_DATAGRAM(0x11, Direction.RELAY_TO_CLIENT, NodeKey.LENGTH + MAX_DATAGRAM_PAYLOAD),
    /**
     * {@code R→C} 0x12, a node this client talked to is connected (again).
     * <pre>key peer</pre>
     */
    PEER_PRESENT(0x12, Direction.RELAY_TO_CLIENT, NodeKey.LENGTH),
    /**
     * {@code R→C} 0x13, a node this client sent to is not reachable through this relay.
     * <pre>key peer | u8 reason ({@link PeerGoneReason})</pre>
     */
    PEER_GONE(0x13, Direction.RELAY_TO_CLIENT, NodeKey.LENGTH + 1),

    /**
     * {@code both} 0x20, liveness and round-trip probe; the receiver answers PONG with the same data.
     * <pre>data[8..1000]</pre> Any other length is a protocol violation.
     */
    PING(0x20, Direction.BOTH, MAX_PING_DATA),
    /** {@code both} 0x21, answer to PING. <pre>data[8..1000]</pre> */
    PONG(0x21, Direction.BOTH, MAX_PING_DATA),
    /** {@code R→C} 0x22, keeps NAT and proxy state alive; empty payload. */
    KEEPALIVE(0x22, Direction.RELAY_TO_CLIENT, 0),
    /**
     * {@code R→C} 0x23, the relay's view of this connection's health.
     * <pre>str8 problem</pre> empty = healthy (for example "another connection with your key is active").
     */
    HEALTH(0x23, Direction.RELAY_TO_CLIENT, 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x24, the relay is draining: reconnect (elsewhere) after {@code reconnectInMillis},
     * trying for up to {@code tryForMillis}.
     * <pre>u32 reconnectInMillis | u32 tryForMillis</pre>
     */
    RESTARTING(0x24, Direction.RELAY_TO_CLIENT, 8),
    /**
     * {@code R→C} 0x25, sent once when the relay starts pacing this client's reads.
     * <pre>u32 bytesPerSecond | u32 burstBytes</pre>
     */
    RATE_LIMITED(0x25, Direction.RELAY_TO_CLIENT, 8),

    /**
     * {@code C→R} 0x30, the dialer asks for a circuit to a service of another node.
     * <pre>u32 requestId | key destination | str8 service</pre> {@code requestId} is chosen by the dialer.
     */
    CIRCUIT_REQUEST(0x30, Direction.CLIENT_TO_RELAY, 4 + NodeKey.LENGTH + 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x31, the relay offers a circuit to the listener; {@code source} is the dialer's
     * authenticated key (a hint: the listener authorises on the end-to-end TLS identity).
     * <pre>circuitId[16] | key source | str8 service | token[32] | u8 flags</pre>
     * {@code flags} (added in 0.2.0; absent = 0): bit 0 = {@code INGRESS}, a public-ingress
     * circuit: no dialer node and no end-to-end TLS; {@code source} is the listener's own key, and the
     * first circuit bytes are a PROXY protocol v2 header with the public client's address, followed by
     * the client's plaintext bytes. A listener accepts it only for a service it published (PUBLISH).
     * Other bits are reserved and zero; a receiver refuses an offer with a flag it does not know.
     */
    CIRCUIT_OFFER(
            0x31,
            Direction.RELAY_TO_CLIENT,
            RelayProtocol.CIRCUIT_ID_LENGTH
                    + NodeKey.LENGTH
                    + 1
                    + MAX_SHORT_STRING
                    + RelayProtocol.CIRCUIT_TOKEN_LENGTH
                    + 1),
    /** {@code C→R} 0x32, the listener accepts an offer and will attach with its token. <pre>circuitId[16]</pre> */
    CIRCUIT_ACCEPT(0x32, Direction.CLIENT_TO_RELAY, RelayProtocol.CIRCUIT_ID_LENGTH),
    /**
     * {@code C→R} 0x33, the listener refuses an offer.
     * <pre>circuitId[16] | u8 reason ({@link CircuitRejectReason}) | str8 message</pre>
     */
    CIRCUIT_REJECT(0x33, Direction.CLIENT_TO_RELAY, RelayProtocol.CIRCUIT_ID_LENGTH + 1 + 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x34, the listener accepted: the dialer attaches with this token.
     * <pre>u32 requestId | circuitId[16] | token[32]</pre>
     */
    CIRCUIT_ACCEPTED(
            0x34, Direction.RELAY_TO_CLIENT, 4 + RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH),
    /**
     * {@code R→C} 0x35, the circuit cannot be made (refused by the listener or by the relay).
     * <pre>u32 requestId | u8 reason ({@link CircuitRejectReason}) | str8 message</pre>
     */
    CIRCUIT_REJECTED(0x35, Direction.RELAY_TO_CLIENT, 4 + 1 + 1 + MAX_SHORT_STRING),
    /**
     * {@code C→R} 0x38, first and only frame a client sends on a circuit connection, with the
     * single-use token from CIRCUIT_OFFER (listener) or CIRCUIT_ACCEPTED (dialer). The relay looks
     * the circuit up by ID and compares the token in constant time.
     * <pre>circuitId[16] | token[32]</pre>
     */
    CIRCUIT_ATTACH(
            0x38, Direction.CLIENT_TO_RELAY, RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH),
    /**
     * {@code R→C} 0x39, both ends are attached: every byte after this frame is circuit data, copied
     * verbatim to the other end (end-to-end TLS between the nodes). Empty payload.
     */
    CIRCUIT_ATTACHED(0x39, Direction.RELAY_TO_CLIENT, 0),

    // 0x40-0x4F are reserved for relay-to-relay mesh frames.

    /**
     * {@code C→R} 0x50, public ingress: the listener asks the relay to publish one of its services on
     * a public TCP port (the relay answers PUBLISHED or PUBLISH_REFUSED).
     * <pre>str8 service | u32 maxConnections | u32 idleTimeoutMillis | u8 sourceCount | source × sourceCount</pre>
     * {@code source} = {@code u8 prefixLength | u8 addressLength (4|16) | address} ({@link SourcePrefix});
     * 1 to {@value FrameLimits#MAX_INGRESS_SOURCES} of them: only clients inside one may connect
     * ({@code 0.0.0.0/0} and {@code ::/0} must be stated). The relay caps both numbers with its own limits.
     * Publishing a service again replaces its options and keeps its port.
     */
    PUBLISH(
            0x50,
            Direction.CLIENT_TO_RELAY,
            1 + MAX_SHORT_STRING + 4 + 4 + 1 + FrameLimits.MAX_INGRESS_SOURCES * (2 + 16)),
    /** {@code C→R} 0x51, stop publishing a service (its public port closes). <pre>str8 service</pre> */
    UNPUBLISH(0x51, Direction.CLIENT_TO_RELAY, 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x52, the service is published: connections to {@code port} reach it, while this
     * control connection lasts. {@code publicAddress} is {@code host:port} as the relay operator
     * advertises it (for status output).
     * <pre>str8 service | u16 port | str8 publicAddress</pre>
     */
    PUBLISHED(0x52, Direction.RELAY_TO_CLIENT, 1 + MAX_SHORT_STRING + 2 + 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x53, the service is not published (or no longer: a later refusal for a published
     * service means its port closed).
     * <pre>str8 service | u8 reason ({@link PublishRefusedReason}) | str8 message</pre>
     */
    PUBLISH_REFUSED(0x53, Direction.RELAY_TO_CLIENT, 1 + MAX_SHORT_STRING + 1 + 1 + MAX_SHORT_STRING),

    /**
     * {@code C→R} 0x60, which connected nodes carry this name in a certificate the relay verified as
     * issued by its fleet CA? Answered by NAME_RESULT with the same {@code requestId}.
     * <pre>u32 requestId | str8 name</pre> {@code name} is a node name (1-63 of {@code a-z 0-9 -});
     * anything else is a protocol violation.
     */
    LOOKUP_NAME(0x60, Direction.CLIENT_TO_RELAY, 4 + 1 + MAX_SHORT_STRING),
    /**
     * {@code R→C} 0x61, the answer to LOOKUP_NAME: the keys of the connected nodes whose CA-issued
     * certificate carries that name (none when unknown, or when the relay has no fleet CA). A hint:
     * the dialer still checks the name in the peer's certificate end to end.
     * <pre>u32 requestId | u8 count | key*count</pre> {@code count} at most
     * {@value FrameLimits#MAX_NAME_RESULT_KEYS}.
     */
    NAME_RESULT(0x61, Direction.RELAY_TO_CLIENT, 4 + 1 + FrameLimits.MAX_NAME_RESULT_KEYS * NodeKey.LENGTH);

    /** Who may send a frame type. */
    public enum Direction {
        CLIENT_TO_RELAY,
        RELAY_TO_CLIENT,
        BOTH
    }

    private static final FrameType[] BY_CODE = new FrameType[256];

    static {
        for (FrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final Direction direction;
    private final int maxPayload;

    FrameType(int code, Direction direction, int maxPayload) {
        this.code = code;
        this.direction = direction;
        this.maxPayload = maxPayload;
    }

    public int code() {
        return code;
    }

    public Direction direction() {
        return direction;
    }

    /** The largest valid payload of this type; a longer length field closes the connection. */
    public int maxPayload() {
        return maxPayload;
    }

    public boolean sentByClient() {
        return direction != Direction.RELAY_TO_CLIENT;
    }

    public boolean sentByRelay() {
        return direction != Direction.CLIENT_TO_RELAY;
    }

    /** The type with this code, or {@code null} when this build does not know it. */
    public static FrameType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
