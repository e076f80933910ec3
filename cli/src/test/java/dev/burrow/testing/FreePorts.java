package dev.burrow.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Loopback ports for processes a test starts later: the test picks a port, passes it on a command
 * line, and the process binds it a second or more afterwards.
 *
 * <p>Why not {@code new ServerSocket(0)}: that port comes from the kernel's ephemeral range, the
 * same range every outgoing connection and every socket bound to port 0 draws from, in any process
 * on the host. In the gap before the process binds, one of those (an agent's connection to its
 * relay, a UDP socket) can take it, and the process exits with "address already in use" (seen in
 * CI: EpollResetFaultTest, ManyConnectionsE2eTest). These ports come from below that range, which
 * the kernel never hands out by itself, are checked free for TCP and UDP, and are never handed out
 * twice by one JVM.
 */
public final class FreePorts {
    /** The lowest port handed out: above the registered services most hosts run. */
    static final int LOWEST = 20_000;
    /** Where the kernel's ephemeral range starts when it cannot be read (Linux's default). */
    static final int DEFAULT_EPHEMERAL_LOW = 32_768;
    /** Tries before giving up (the range holds thousands of ports; a few may be taken). */
    static final int ATTEMPTS = 200;

    private static final Set<Integer> HANDED_OUT = ConcurrentHashMap.newKeySet();
    private static final int HIGHEST = ephemeralLow() - 1;

    private FreePorts() {}

    /** A loopback port free for TCP and UDP now, outside the ephemeral range, not handed out before by this JVM. */
    public static int free() throws IOException {
        if (HIGHEST - LOWEST < 1_000) { // an unusual ephemeral range: fall back to the kernel's choice
            try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
                return s.getLocalPort();
            }
        }
        for (int i = 0; i < ATTEMPTS; i++) {
            int port = ThreadLocalRandom.current().nextInt(LOWEST, HIGHEST + 1);
            if (!HANDED_OUT.add(port)) {
                continue;
            }
            if (bindable(port)) {
                return port;
            }
        }
        throw new IOException("no free loopback port in " + LOWEST + "-" + HIGHEST + " after " + ATTEMPTS + " tries");
    }

    private static boolean bindable(int port) {
        InetAddress lo = InetAddress.getLoopbackAddress();
        try (ServerSocket tcp = new ServerSocket();
                DatagramSocket udp = new DatagramSocket(null)) {
            tcp.bind(new InetSocketAddress(lo, port), 1);
            udp.bind(new InetSocketAddress(lo, port));
            return true;
        } catch (IOException taken) {
            return false;
        }
    }

    /**
     * The low end of {@code /proc/sys/net/ipv4/ip_local_port_range}, or Linux's default. Read line
     * by line: {@code Files.readString} of a {@code /proc/sys} file returns only its first byte on
     * JDK 25 (the file reports size 0), which made the range "3" and every port the kernel's choice
     * again (CI: HalfCloseE2eTest and ReadmeQuickStartE2eTest found their ports taken).
     */
    static int ephemeralLow() {
        try {
            return parseLow(Files.readAllLines(Path.of("/proc/sys/net/ipv4/ip_local_port_range")));
        } catch (IOException | RuntimeException e) {
            return DEFAULT_EPHEMERAL_LOW;
        }
    }

    /** The low end of the range file's one line "LOW HIGH"; anything else is an error. */
    static int parseLow(java.util.List<String> lines) {
        String[] parts = lines.isEmpty() ? new String[0] : lines.get(0).trim().split("\\s+");
        if (parts.length != 2) {
            throw new IllegalArgumentException("not a port range: " + lines);
        }
        int low = Integer.parseInt(parts[0]);
        int high = Integer.parseInt(parts[1]);
        if (low < 1 || high > 65_535 || low > high) {
            throw new IllegalArgumentException("not a port range: " + lines);
        }
        return low;
    }
}
