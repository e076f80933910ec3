package dev.burrow.agent.disco;

/**
 * Disco message types: the first plaintext byte inside the sealed box. Layouts (after the type byte):
 *
 * <ul>
 *   <li>{@code 0x01 PING}: {@code txId[12], padding...} (padding is zero bytes, ignored: it lets a
 *       dialer make pings as large as the pong it asks for, so a pong never exceeds 3x the ping);</li>
 *   <li>{@code 0x02 PONG}: {@code txId[12], observed endpoint[18]} - the ping's source address as
 *       the responder saw it (16-byte IPv6, IPv4 mapped, and u16 port);</li>
 *   <li>{@code 0x03 CALL_ME_MAYBE}: {@code endpoint[18] x n}, 1 &le; n &le; 32: the sender's
 *       candidate endpoints; the receiver starts pinging them at once.</li>
 *   <li>{@code 0x04 NAT_INFO}: {@code mapping[1], portmap[1], endpoint[18] if portmap != 0} - how the
 *       sender's NAT maps its direct socket (0 unknown, 1 endpoint-independent, 2 endpoint-dependent,
 *       3 no STUN answer), and the port mapping its gateway granted (0 none, 1 PCP, 2 NAT-PMP, 3 UPnP
 *       IGD) with the mapped address. Sent through the relay with CALL_ME_MAYBE; it decides who
 *       sprays (hard-NAT traversal). Unknown codes read as unknown / none; trailing bytes are ignored.</li>
 * </ul>
 *
 * Unknown types decode as {@link DiscoMessage.Unknown} and are ignored.
 */
public enum DiscoMessageType {
    PING(0x01),
    PONG(0x02),
    CALL_ME_MAYBE(0x03),
    NAT_INFO(0x04);

    private final int code;

    DiscoMessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type for a code, or null. */
    public static DiscoMessageType of(int code) {
        for (DiscoMessageType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
