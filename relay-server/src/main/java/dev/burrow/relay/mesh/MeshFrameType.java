package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.relay.mesh.protocol.MeshProtocol;

/**
 * Every frame type of the relay-to-relay mesh protocol ({@value MeshProtocol#UPGRADE_TOKEN}), its
 * code and its largest payload. Mesh frames have the relay protocol's framing:
 * <pre>
 *   type   u8        one of the codes below; unknown codes are skipped (counted)
 *   length u32 (BE)  payload length, unsigned; checked against {@link #maxPayload()} before anything is allocated
 *   payload           length bytes
 * </pre>
 * Notation: {@code key} = 32-byte node key, {@code id16} = 16 bytes, {@code str8} = u8 length + UTF-8
 * bytes (at most {@value FrameLimits#MAX_SHORT_STRING}); integers are big-endian and unsigned.
 * Direction: the <em>dialer</em> opened the connection, the <em>acceptor</em> took it on its public port.
 */
public enum MeshFrameType {
    /**
     * {@code both} 0x01, first frame each side sends.
     * <pre>u16 version | u8 purpose (1 link, 2 circuit, 3 pooled circuit) | instance id16 | nonce[32] | str8 relayId</pre>
     * {@code instance} is random per relay process: a relay that receives its own hangs up (self-mesh).
     */
    HELLO(0x01, 2 + 1 + MeshProtocol.INSTANCE_ID_LENGTH + MeshProtocol.NONCE_LENGTH + 1 + FrameLimits.MAX_SHORT_STRING),
    /**
     * {@code both} 0x02, proof of the mesh key.
     * <pre>mac[32]</pre> HMAC-SHA256 over the transcript described in {@link MeshAuth}; the key never
     * crosses the wire. Nothing but HELLO and AUTH is accepted before both sides have proved it.
     */
    AUTH(0x02, MeshAuth.MAC_LENGTH),
    /**
     * {@code both} 0x03 (link), empty; sent every {@value MeshLink#KEEPALIVE_SECONDS} s so that a
     * sibling that vanished without closing (a pod on a lost node) is noticed: a link that hears
     * nothing for {@value MeshLink#IDLE_SECONDS} s is closed.
     */
    KEEPALIVE(0x03, 0),
    /**
     * {@code acceptor→dialer} 0x10 (link), these nodes are connected to the sender.
     * <pre>u16 count | key * count</pre> at most {@value MeshProtocol#MAX_KEYS_PER_PRESENCE} keys.
     * Right after AUTH the acceptor sends its whole presence; then one frame per change.
     */
    PRESENT(0x10, 2 + MeshProtocol.MAX_KEYS_PER_PRESENCE * NodeKey.LENGTH),
    /**
     * {@code acceptor→dialer} 0x11 (link), these nodes left the sender.
     * <pre>u16 count | key * count</pre>
     */
    GONE(0x11, 2 + MeshProtocol.MAX_KEYS_PER_PRESENCE * NodeKey.LENGTH),
    /**
     * {@code acceptor→dialer} 0x12 (link), the certified names of nodes connected to the sender.
     * <pre>u16 count | (key | str8 name) * count</pre> at most {@value MeshProtocol#MAX_NAMES_PER_FRAME}
     * entries; {@code name} is a node name ({@link dev.burrow.protocol.frame.NodeNames}, at most
     * {@value FrameLimits#MAX_NODE_NAME} bytes) that the sender verified in the node's CA-issued
     * certificate, or empty: the node (still connected) no longer has one. Every key must have been
     * announced by PRESENT on this link first; a name goes with its key's GONE. Right after its full
     * presence the acceptor sends the names of its named nodes; then one frame per change. Added to
     * version 1 without a bump: an older relay skips it as an unknown type.
     */
    NAMES(0x12, 2 + MeshProtocol.MAX_NAMES_PER_FRAME * (NodeKey.LENGTH + 1 + FrameLimits.MAX_NODE_NAME)),
    /**
     * {@code dialer→acceptor} 0x20 (link), a keyed datagram for a node connected to the acceptor.
     * <pre>key source | key destination | payload...</pre> The receiver delivers it locally or drops
     * it: a forwarded datagram is never forwarded again.
     */
    DATAGRAM(0x20, 2 * NodeKey.LENGTH + FrameLimits.MAX_DATAGRAM_PAYLOAD),
    /**
     * {@code dialer→acceptor} 0x30 (link), the dialer's client asks for a circuit to the acceptor's client.
     * <pre>u64 meshRequestId | key dialer | key listener | str8 service</pre>
     */
    CIRCUIT_REQUEST(0x30, 8 + 2 * NodeKey.LENGTH + 1 + FrameLimits.MAX_SHORT_STRING),
    /**
     * {@code acceptor→dialer} 0x31 (link), the listener accepted.
     * <pre>u64 meshRequestId | circuitId id16 | token[32]</pre> {@code token} is the dialer end's attach
     * token; the dialer's relay presents it in CIRCUIT_ATTACH on a circuit connection.
     */
    CIRCUIT_ACCEPTED(0x31, 8 + RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH),
    /**
     * {@code acceptor→dialer} 0x32 (link), no circuit.
     * <pre>u64 meshRequestId | u8 reason (CircuitRejectReason) | str8 message</pre>
     */
    CIRCUIT_REJECTED(0x32, 8 + 1 + 1 + FrameLimits.MAX_SHORT_STRING),
    /**
     * {@code dialer→acceptor} 0x33 (circuit connection), the only frame after AUTH.
     * <pre>circuitId id16 | token[32]</pre> The acceptor answers with the relay protocol's
     * CIRCUIT_ATTACHED frame (0x39, empty) or DENY, then raw circuit bytes.
     */
    CIRCUIT_ATTACH(0x33, RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH),
    /**
     * {@code dialer→acceptor} 0x34 (pooled circuit connection, purpose 3), the only frame after AUTH;
     * sent when the connection is taken from the pool for a circuit.
     * <pre>circuitId id16 | mac[32]</pre> {@code mac} = HMAC-SHA256(mesh key, "burrow-mesh-v1 bind" |
     * dialer's HELLO payload | acceptor's HELLO payload | circuitId | token), see {@link MeshAuth#bindMac}:
     * the token stays secret on plain TCP, and the fresh nonces of both HELLOs make a captured BIND
     * useless on any other connection. Answered like CIRCUIT_ATTACH: CIRCUIT_ATTACHED (0x39) or DENY.
     */
    CIRCUIT_BIND(0x34, RelayProtocol.CIRCUIT_ID_LENGTH + MeshAuth.MAC_LENGTH);

    private static final MeshFrameType[] BY_CODE = new MeshFrameType[256];

    static {
        for (MeshFrameType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final int maxPayload;

    MeshFrameType(int code, int maxPayload) {
        this.code = code;
        this.maxPayload = maxPayload;
    }

    public int code() {
        return code;
    }

    public int maxPayload() {
        return maxPayload;
    }

    /** The type for {@code code}, or null when unknown (the frame is skipped). */
    public static MeshFrameType of(int code) {
        return code >= 0 && code < 256 ? BY_CODE[code] : null;
    }
}
