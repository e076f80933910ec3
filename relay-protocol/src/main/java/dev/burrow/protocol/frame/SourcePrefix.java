package dev.burrow.protocol.frame;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.Locale;

/**
 * A source address prefix (CIDR) of a public-ingress allow list: {@code 203.0.113.0/24},
 * {@code 2001:db8::/32}, {@code 0.0.0.0/0}. Host bits are cleared on construction, so two prefixes
 * naming the same network are equal. IPv4-mapped IPv6 client addresses ({@code ::ffff:a.b.c.d}) are
 * matched as the IPv4 address they carry (disguised local targets: no disguise gets around a v4 rule).
 *
 * <p>Wire form (in PUBLISH): {@code u8 prefixLength | u8 addressLength (4 or 16) | address}.
 */
public record SourcePrefix(byte[] address, int prefixLength) {
    public SourcePrefix {
        if (address == null || (address.length != 4 && address.length != 16)) {
            throw new IllegalArgumentException("a prefix address has 4 or 16 bytes");
        }
        if (prefixLength < 0 || prefixLength > address.length * 8) {
            throw new IllegalArgumentException("prefix length " + prefixLength + " out of range for a "
                    + (address.length == 4 ? "IPv4" : "IPv6") + " address");
        }
        address = mask(address.clone(), prefixLength);
    }

    /** Bytes of the wire form of this prefix. */
    public int encodedLength() {
        return 2 + address.length;
    }

    @Override
    public byte[] address() {
        return address.clone();
    }

    /**
     * Parses {@code a.b.c.d/n} or {@code v6/n}; a bare address is a host prefix (/32 or /128).
     * Literal addresses only: never a DNS lookup.
     */
    public static SourcePrefix parse(String text) {
        String t = text == null ? "" : text.strip();
        int slash = t.indexOf('/');
        String addr = slash < 0 ? t : t.substring(0, slash);
        byte[] raw = literal(addr);
        if (raw == null) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not an address prefix (e.g. 203.0.113.0/24, 2001:db8::/32)");
        }
        int len = raw.length * 8;
        if (slash >= 0) {
            String n = t.substring(slash + 1);
            if (n.isEmpty() || n.length() > 3 || !n.chars().allMatch(Character::isDigit)) {
                throw new IllegalArgumentException("'" + text + "': bad prefix length");
            }
            len = Integer.parseInt(n);
        }
        return new SourcePrefix(raw, len);
    }

    /** True when {@code client} is inside this prefix (IPv4-mapped IPv6 is matched as IPv4). */
    public boolean matches(InetAddress client) {
        byte[] c = canonical(client);
        if (c.length != address.length) {
            return false;
        }
        return Arrays.equals(mask(c, prefixLength), address);
    }

    /** The address as the relay compares it: IPv4 for IPv4 and IPv4-mapped IPv6 addresses. */
    public static byte[] canonical(InetAddress a) {
        byte[] b = a.getAddress();
        if (a instanceof Inet6Address && b.length == 16) {
            boolean mapped = true;
            for (int i = 0; i < 10; i++) {
                mapped &= b[i] == 0;
            }
            mapped &= b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
            if (mapped) {
                return Arrays.copyOfRange(b, 12, 16);
            }
        }
        return b;
    }

    private static byte[] mask(byte[] b, int prefixLength) {
        for (int i = 0; i < b.length; i++) {
            int keep = Math.max(0, Math.min(8, prefixLength - i * 8));
            b[i] &= (byte) (0xFF << (8 - keep));
        }
        return b;
    }

    private static byte[] literal(String s) {
        if (s.isEmpty() || !s.chars().allMatch(ch -> Character.digit(ch, 16) >= 0 || ch == '.' || ch == ':')) {
            return null; // never let InetAddress resolve a host name
        }
        try {
            InetAddress a = InetAddress.getByName(s);
            return a instanceof Inet4Address || a instanceof Inet6Address ? a.getAddress() : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SourcePrefix p && p.prefixLength == prefixLength && Arrays.equals(p.address, address);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(address) * 31 + prefixLength;
    }

    @Override
    public String toString() {
        try {
            return InetAddress.getByAddress(address).getHostAddress().toLowerCase(Locale.ROOT) + "/" + prefixLength;
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
