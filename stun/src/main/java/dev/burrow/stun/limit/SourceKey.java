package dev.burrow.stun.limit;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * What every per-source limit in Burrow counts by: an IPv4 address as is (also when it arrives
 * IPv4-mapped in an IPv6 socket), an IPv6 address cut to its /64, never the port. One subscriber or
 * host usually holds a whole /64 and could otherwise rotate through it; one IPv4 address is the
 * smallest unit a source pays for.
 */
public final class SourceKey {
    /** IPv6 bits that name the source: the routing prefix and subnet of one site or host. */
    public static final int IPV6_PREFIX_BITS = 64;

    private SourceKey() {}

    /** The key of {@code source}. */
    public static InetAddress of(InetAddress source) {
        if (source instanceof Inet4Address) {
            return source;
        }
        byte[] b = source.getAddress();
        try {
            if (isV4Mapped(b)) {
                return InetAddress.getByAddress(Arrays.copyOfRange(b, 12, 16));
            }
            Arrays.fill(b, IPV6_PREFIX_BITS / 8, 16, (byte) 0);
            return InetAddress.getByAddress(b); // drops any scope id: the key is the prefix alone
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // a 4- or 16-byte array never fails
        }
    }

    private static boolean isV4Mapped(byte[] b) {
        if (b.length != 16) {
            return false;
        }
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) {
                return false;
            }
        }
        return b[10] == (byte) 0xff && b[11] == (byte) 0xff;
    }
}
