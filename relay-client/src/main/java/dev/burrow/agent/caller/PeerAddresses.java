package dev.burrow.agent.caller;

import dev.burrow.identity.NodeKey;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The source address a PROXY v2 header carries for a peer: derived from the node key alone, so it
 * is the same for that peer on every agent and every connection, and a server that logs or
 * allow-lists by address sees one stable address per caller.
 *
 * <ul>
 *   <li>IPv4 targets: {@code 100.64.0.0/10} (RFC 6598 shared address space; never routed on the
 *       internet, and few LANs use it) plus the first 22 bits of
 *       {@code SHA-256("burrow proxy-v2 address" || node key)};</li>
 *   <li>IPv6 targets: {@code fd62:7572:726f::/48} (a ULA prefix, "bur" "ro") plus the first 80 bits
 *       of the same hash.</li>
 * </ul>
 *
 * <p>22 bits are few: two of a thousand peers share an IPv4 address with a chance of about 12 %.
 * The address is for logs and coarse rules; the node ID TLV is the identity (docs/protocol.md).
 */
public final class PeerAddresses {
    static final String DOMAIN = "burrow proxy-v2 address";
    /** 100.64.0.0/10, RFC 6598. */
    static final int V4_PREFIX = (100 << 24) | (64 << 16);

    static final int V4_HOST_BITS = 22;
    static final byte[] V6_PREFIX = {(byte) 0xfd, 0x62, 0x75, 0x72, 0x72, 0x6f};

    private PeerAddresses() {}

    /** The mapped address of {@code peer} in the family of {@code target}. */
    public static InetAddress forPeer(NodeKey peer, InetAddress target) {
        return target instanceof Inet4Address ? ipv4(peer) : ipv6(peer);
    }

    public static InetAddress ipv4(NodeKey peer) {
        byte[] h = hash(peer);
        int host = ((h[0] & 0xff) << 16 | (h[1] & 0xff) << 8 | (h[2] & 0xff)) >>> (24 - V4_HOST_BITS);
        int a = V4_PREFIX | host;
        return address(new byte[] {(byte) (a >>> 24), (byte) (a >>> 16), (byte) (a >>> 8), (byte) a});
    }

    public static InetAddress ipv6(NodeKey peer) {
        byte[] h = hash(peer);
        byte[] a = new byte[16];
        System.arraycopy(V6_PREFIX, 0, a, 0, V6_PREFIX.length);
        System.arraycopy(h, 0, a, V6_PREFIX.length, 16 - V6_PREFIX.length);
        return address(a);
    }

    private static byte[] hash(NodeKey peer) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(DOMAIN.getBytes(StandardCharsets.US_ASCII));
            sha.update(peer.bytes());
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 missing", e);
        }
    }

    private static InetAddress address(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // only for a wrong length, which cannot happen here
        }
    }
}
