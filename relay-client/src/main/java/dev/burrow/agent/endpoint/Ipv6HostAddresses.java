package dev.burrow.agent.endpoint;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The IPv6 addresses of this host a peer may reach a direct-path socket at: host candidates for
 * IPv6, where there is usually no NAT (a stateful firewall at most, which punching opens like a
 * NAT's filter). Only global unicast (2000::/3) counts, and unique local addresses (fc00::/7) when
 * {@code BURROW_DIRECT_IPV6_ULA=on} (two sites on one private IPv6 network); link-local (needs a
 * scope, never routed), loopback, multicast, IPv4-mapped, 6to4 and Teredo (tunnels with an IPv4
 * leg that plain IPv4 covers better) are skipped. On Linux the address flags in {@code
 * /proc/net/if_inet6} also drop deprecated, tentative and DAD-failed addresses, and put temporary
 * (privacy) addresses after stable ones: a stable address stays valid across the peer's copy of
 * our candidates. At most {@link #MAX_ADDRESSES}.
 */
public final class Ipv6HostAddresses {
    private static final Logger log = LoggerFactory.getLogger(Ipv6HostAddresses.class);

    /**
     * IPv6 host candidates per socket: a host with a few prefixes (ISP, VPN, a second uplink) fits,
     * while a container host with an address per bridge cannot crowd the IPv4 candidates out of a
     * CALL_ME_MAYBE ({@link EndpointDiscovery#MAX_ENDPOINTS}).
     */
    public static final int MAX_ADDRESSES = 4;

    /** Linux {@code IFA_F_*} flags as {@code /proc/net/if_inet6} shows them (low 8 bits). */
    static final int IFA_F_TEMPORARY = 0x01;

    static final int IFA_F_DADFAILED = 0x08;
    static final int IFA_F_DEPRECATED = 0x20;
    static final int IFA_F_TENTATIVE = 0x40;

    private static final Path IF_INET6 = Path.of("/proc/net/if_inet6");
    /** /proc/net/if_inet6 is one short line per address; more than this is not read. */
    private static final long MAX_PROC_BYTES = 1 << 20;

    private Ipv6HostAddresses() {}

    /** Why an address is not a host candidate, or empty when it is one. */
    public static Optional<String> skipReason(Inet6Address a, int flags, boolean allowUla) {
        byte[] b = a.getAddress();
        int first = b[0] & 0xFF;
        if (a.isLinkLocalAddress()) {
            return Optional.of("link-local");
        }
        if (a.isLoopbackAddress() || a.isAnyLocalAddress()) {
            return Optional.of("loopback or unspecified");
        }
        if (a.isMulticastAddress()) {
            return Optional.of("multicast");
        }
        if ((first & 0xFE) == 0xFC) {
            return allowUla ? Optional.empty() : Optional.of("unique local (BURROW_DIRECT_IPV6_ULA=on to use it)");
        }
        if ((first & 0xE0) != 0x20) {
            return Optional.of("not global unicast (outside 2000::/3)");
        }
        if (first == 0x20 && (b[1] & 0xFF) == 0x02) {
            return Optional.of("6to4 (2002::/16)");
        }
        if (first == 0x20 && b[1] == 0x01 && b[2] == 0 && b[3] == 0) {
            return Optional.of("Teredo (2001::/32)");
        }
        if ((flags & IFA_F_DADFAILED) != 0) {
            return Optional.of("duplicate address detection failed");
        }
        if ((flags & IFA_F_TENTATIVE) != 0) {
            return Optional.of("tentative (duplicate address detection not finished)");
        }
        if ((flags & IFA_F_DEPRECATED) != 0) {
            return Optional.of("deprecated (preferred lifetime over)");
        }
        return Optional.empty();
    }

    /**
     * The candidates among {@code addresses} (each with its flags, 0 when unknown): usable ones,
     * stable before temporary, in their order otherwise, at most {@link #MAX_ADDRESSES}.
     */
    public static List<InetAddress> select(Map<Inet6Address, Integer> addresses, boolean allowUla) {
        List<InetAddress> stable = new ArrayList<>();
        List<InetAddress> temporary = new ArrayList<>();
        for (Map.Entry<Inet6Address, Integer> e : addresses.entrySet()) {
            int flags = e.getValue();
            if (skipReason(e.getKey(), flags, allowUla).isPresent()) {
                continue;
            }
            // Without the scope: a global address is the same on every interface and on the wire.
            InetAddress plain = withoutScope(e.getKey());
            if (stable.contains(plain) || temporary.contains(plain)) {
                continue;
            }
            ((flags & IFA_F_TEMPORARY) != 0 ? temporary : stable).add(plain);
        }
        List<InetAddress> out = new ArrayList<>(stable);
        out.addAll(temporary);
        return List.copyOf(out.subList(0, Math.min(out.size(), MAX_ADDRESSES)));
    }

    /** This host's IPv6 host candidates now: addresses of interfaces that are up, loopback excluded. */
    public static List<InetAddress> current() {
        Map<Inet6Address, Integer> flags = procFlags();
        Map<Inet6Address, Integer> found = new java.util.LinkedHashMap<>();
        try {
            var ifs = NetworkInterface.getNetworkInterfaces();
            while (ifs != null && ifs.hasMoreElements()) {
                NetworkInterface ni = ifs.nextElement();
                if (!ni.isUp() || ni.isLoopback()) {
                    continue;
                }
                for (var ia : ni.getInterfaceAddresses()) {
                    if (ia.getAddress() instanceof Inet6Address a6) {
                        found.put(a6, flags.getOrDefault((Inet6Address) withoutScope(a6), 0));
                    }
                }
            }
        } catch (SocketException e) {
            log.debug("cannot list interfaces: {}", e.toString());
        }
        return select(found, ulaAllowed());
    }

    /** {@code BURROW_DIRECT_IPV6_ULA=on}: unique local addresses are candidates too. */
    public static boolean ulaAllowed() {
        String v = System.getenv("BURROW_DIRECT_IPV6_ULA");
        return v != null && v.trim().equalsIgnoreCase("on");
    }

    /** Flags per address from {@code /proc/net/if_inet6} (Linux); empty elsewhere or when unreadable. */
    static Map<Inet6Address, Integer> procFlags() {
        try {
            if (!Files.isReadable(IF_INET6) || Files.size(IF_INET6) > MAX_PROC_BYTES) {
                return Map.of();
            }
            return parseIfInet6(Files.readString(IF_INET6, StandardCharsets.US_ASCII));
        } catch (IOException | RuntimeException e) {
            log.debug("cannot read {}: {}", IF_INET6, e.toString());
            return Map.of();
        }
    }

    /**
     * Parses {@code /proc/net/if_inet6}: per line the address (32 hex digits), interface index,
     * prefix length, scope, flags (hex) and interface name. Malformed lines are skipped.
     */
    static Map<Inet6Address, Integer> parseIfInet6(String text) {
        Map<Inet6Address, Integer> out = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length < 6 || f[0].length() != 32) {
                continue;
            }
            try {
                byte[] raw = HexFormat.of().parseHex(f[0]);
                int flags = Integer.parseInt(f[4], 16);
                if (InetAddress.getByAddress(raw) instanceof Inet6Address a6) {
                    out.merge(a6, flags, (x, y) -> x | y);
                }
            } catch (IllegalArgumentException | UnknownHostException e) {
                // not an address line
            }
        }
        return out;
    }

    private static InetAddress withoutScope(Inet6Address a) {
        try {
            return InetAddress.getByAddress(a.getAddress());
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e); // 16 bytes always make an address
        }
    }
}
