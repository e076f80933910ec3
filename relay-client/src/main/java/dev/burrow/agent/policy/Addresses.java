package dev.burrow.agent.policy;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * Canonical forms of IP addresses for policy decisions: every IPv6 form that embeds an IPv4
 * address is turned into that IPv4 address before anything is compared, so
 * {@code ::ffff:127.0.0.1}, {@code ::7f00:1}, {@code 64:ff9b::7f00:1} and {@code 2002:7f00:1::}
 * all read as {@code 127.0.0.1} (attack: disguised local targets).
 */
public final class Addresses {
    private Addresses() {}

    /** The address with embedded IPv4 addresses extracted; other addresses are returned unchanged. */
    public static InetAddress canonical(InetAddress address) {
        if (!(address instanceof Inet6Address)) {
            return address;
        }
        byte[] b = address.getAddress();
        // IPv4-mapped ::ffff:a.b.c.d (Java already maps these when parsing text, not always from bytes)
        if (allZero(b, 0, 10) && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF) {
            return v4(b, 12);
        }
        // IPv4-compatible ::a.b.c.d (deprecated, RFC 4291 2.5.5.1); :: and ::1 are themselves
        if (allZero(b, 0, 12) && !(allZero(b, 12, 15) && ((b[15] & 0xFF) <= 1))) {
            return v4(b, 12);
        }
        // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052)
        if ((b[0] & 0xFF) == 0x00
                && (b[1] & 0xFF) == 0x64
                && (b[2] & 0xFF) == 0xFF
                && (b[3] & 0xFF) == 0x9B
                && allZero(b, 4, 12)) {
            return v4(b, 12);
        }
        // 6to4 2002:a.b.c.d::/48 (RFC 3056)
        if ((b[0] & 0xFF) == 0x20 && (b[1] & 0xFF) == 0x02) {
            return v4(b, 2);
        }
        // Teredo 2001:0::/32 carries the client's IPv4 address inverted in the last 4 bytes
        if ((b[0] & 0xFF) == 0x20 && (b[1] & 0xFF) == 0x01 && b[2] == 0 && b[3] == 0) {
            byte[] v = new byte[4];
            for (int i = 0; i < 4; i++) {
                v[i] = (byte) ~b[12 + i];
            }
            return v4(v, 0);
        }
        return address;
    }

    /**
     * True for addresses that can never be a connect() destination we honour: unspecified
     * ({@code 0.0.0.0}, {@code ::}), "this network" {@code 0.0.0.0/8}, multicast and broadcast.
     */
    public static boolean isNeverATarget(InetAddress address) {
        InetAddress c = canonical(address);
        if (c.isAnyLocalAddress() || c.isMulticastAddress()) {
            return true;
        }
        if (c instanceof Inet4Address) {
            byte[] b = c.getAddress();
            return b[0] == 0 || ((b[0] & b[1] & b[2] & b[3]) & 0xFF) == 0xFF;
        }
        return false;
    }

    private static boolean allZero(byte[] b, int from, int to) {
        for (int i = from; i < to; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return true;
    }

    private static InetAddress v4(byte[] b, int offset) {
        try {
            return InetAddress.getByAddress(new byte[] {b[offset], b[offset + 1], b[offset + 2], b[offset + 3]});
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 bytes are always an IPv4 address", e);
        }
    }
}
