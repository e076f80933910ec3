package dev.burrow.agent.direct;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.SocketChannel;
import java.nio.channels.UnsupportedAddressTypeException;

/**
 * A TCP port number held for a direct UDP socket of the same number, so the agent's direct TCP
 * sessions can listen there later (peers dial the disco-proven UDP endpoint's port over TCP).
 *
 * <p>Why: a UDP socket bound to port 0 gets a number the kernel knows is free for UDP only. Any
 * outgoing TCP connection on the host may hold the same number (both come from the ephemeral
 * range), and then the listener cannot bind and that agent's peers stay on QUIC, which moves a
 * sixth of what TCP does (seen in a benchmark with four agent pairs on one host). So the TCP number
 * is taken first, by a socket that is bound but neither listening nor connected: the kernel hands
 * that number to no outgoing connection, while {@code SO_REUSEADDR} lets a listener bind it
 * (ours, or one of the user's: a reservation never makes the agent's own configured ports fail).
 */
final class TcpPortReservation implements AutoCloseable {
    /** Reservations tried before the UDP socket takes whatever number the kernel gives it. */
    static final int ATTEMPTS = 8;

    private final SocketChannel socket;
    private final int port;

    private TcpPortReservation(SocketChannel socket, int port) {
        this.socket = socket;
        this.port = port;
    }

    /**
     * Binds a TCP socket at {@code wildcard} port 0 (an IPv6 wildcard falls back to IPv4 where the
     * host or the JVM has no IPv6: a namespace with IPv6 disabled makes the JVM refuse IPv6
     * addresses with an {@link UnsupportedAddressTypeException}, as the NAT lab found).
     */
    static TcpPortReservation reserve(InetAddress wildcard) throws IOException {
        try {
            return bind(wildcard);
        } catch (IOException | UnsupportedAddressTypeException e) { // the latter: a JVM that found no IPv6 here
            if (wildcard instanceof Inet6Address) {
                return bind(InetAddress.getByAddress(new byte[4]));
            }
            throw e;
        }
    }

    private static TcpPortReservation bind(InetAddress at) throws IOException {
        SocketChannel s = SocketChannel.open();
        try {
            s.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            s.bind(new InetSocketAddress(at, 0));
            return new TcpPortReservation(s, ((InetSocketAddress) s.getLocalAddress()).getPort());
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    int port() {
        return port;
    }

    /** Gives the number back (after the listener bound it, or when no listener will). Idempotent. */
    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // a bound, unconnected socket: nothing to flush, nothing to report
        }
    }
}
