package dev.burrow.agent.portmap;

import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The IPv4 default gateway from the kernel's routing table ({@code /proc/net/route}): the only
 * address port-mapping requests are ever sent to. Linux only; elsewhere there is none, and port
 * mapping is skipped.
 */
public final class DefaultGateway {
    public static final Path ROUTE_TABLE = Path.of("/proc/net/route");
    /** The table is a few lines per interface; more than this is not a routing table we understand. */
    static final int MAX_TABLE_BYTES = 64 * 1024;

    private static final int RTF_UP = 0x1;
    private static final int RTF_GATEWAY = 0x2;

    private DefaultGateway() {}

    /** The default route's gateway of this host, if any. */
    public static Optional<Inet4Address> find() {
        try {
            if (!Files.isReadable(ROUTE_TABLE) || Files.size(ROUTE_TABLE) > MAX_TABLE_BYTES) {
                return Optional.empty();
            }
            return parse(Files.readString(ROUTE_TABLE));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * The gateway of the up default route (destination and mask 0, gateway flag) with the lowest
     * metric. Fields are hexadecimal, the addresses in the kernel's (little-endian) byte order.
     */
    static Optional<Inet4Address> parse(String table) {
        Inet4Address best = null;
        long bestMetric = Long.MAX_VALUE;
        String[] lines = table.split("\n");
        for (int i = 1; i < lines.length; i++) {
            String[] f = lines[i].trim().split("\\s+");
            if (f.length < 8) {
                continue;
            }
            try {
                long dest = Long.parseLong(f[1], 16);
                long gw = Long.parseLong(f[2], 16);
                int flags = Integer.parseInt(f[3], 16);
                long metric = Long.parseLong(f[6]);
                long mask = Long.parseLong(f[7], 16);
                if (dest != 0 || mask != 0 || gw == 0 || (flags & (RTF_UP | RTF_GATEWAY)) != (RTF_UP | RTF_GATEWAY)) {
                    continue;
                }
                if (metric < bestMetric) {
                    bestMetric = metric;
                    best = (Inet4Address) InetAddress.getByAddress(
                            new byte[] {(byte) gw, (byte) (gw >>> 8), (byte) (gw >>> 16), (byte) (gw >>> 24)});
                }
            } catch (NumberFormatException | UnknownHostException e) {
                // not a route line we understand
            }
        }
        return Optional.ofNullable(best);
    }
}
