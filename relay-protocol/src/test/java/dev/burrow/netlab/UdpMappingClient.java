package dev.burrow.netlab;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The client side of {@link UdpReflector}, run in a namespace: from <em>one</em> local socket it asks
 * each reflector in turn what source address it sees, printing {@code MAPPED <dest> <ip:port>} (IPv6 as {@code [ip]:port}; the socket is dual-stack when a destination is IPv6) or
 * {@code TIMEOUT <dest>} (and {@code RTT <dest> <n>us} for the answered try); then, with {@code --listen-ms}, it prints {@code INBOUND <from> <text>} for
 * every unsolicited datagram that reaches the socket (filtering tests), and {@code DONE} at the end.
 * With {@code --send-only} it just sends one datagram to each destination (to poke a NAT from outside).
 *
 * <p>Usage: {@code UdpMappingClient [--port P] [--tries N] [--timeout-ms T] [--listen-ms L] [--send-only] HOST:PORT...}
 */
public final class UdpMappingClient {
    private UdpMappingClient() {}

    public static void main(String[] args) throws IOException {
        int port = 0;
        int tries = 3;
        int timeoutMs = 700;
        int listenMs = 0;
        boolean sendOnly = false;
        List<InetSocketAddress> destinations = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--tries" -> tries = Integer.parseInt(args[++i]);
                case "--timeout-ms" -> timeoutMs = Integer.parseInt(args[++i]);
                case "--listen-ms" -> listenMs = Integer.parseInt(args[++i]);
                case "--send-only" -> sendOnly = true;
                default -> destinations.add(UdpReflector.parse(args[i]));
            }
        }
        try (DatagramSocket socket =
                new DatagramSocket(new InetSocketAddress(UdpReflector.wildcardFor(destinations), port))) {
            System.out.println("LOCAL " + socket.getLocalPort());
            byte[] probe = "netlab-probe".getBytes(StandardCharsets.US_ASCII);
            byte[] buf = new byte[UdpReflector.MAX_DATAGRAM];
            for (InetSocketAddress dest : destinations) {
                String name = UdpReflector.format(dest);
                if (sendOnly) {
                    socket.send(new DatagramPacket(probe, probe.length, dest));
                    System.out.println("SENT " + name);
                    continue;
                }
                String answer = null;
                long rttNanos = 0;
                socket.setSoTimeout(timeoutMs);
                for (int t = 0; t < tries && answer == null; t++) {
                    long sent = System.nanoTime();
                    socket.send(new DatagramPacket(probe, probe.length, dest));
                    long deadline = System.nanoTime() + timeoutMs * 1_000_000L;
                    while (answer == null && System.nanoTime() < deadline) {
                        DatagramPacket p = new DatagramPacket(buf, buf.length);
                        try {
                            socket.receive(p);
                        } catch (SocketTimeoutException e) {
                            break;
                        }
                        // Only the answer from the reflector asked counts; anything else is unsolicited.
                        if (p.getSocketAddress().equals(dest)) {
                            answer = new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
                            rttNanos = System.nanoTime() - sent;
                        } else {
                            System.out.println("INBOUND " + text(p));
                        }
                    }
                }
                System.out.println(answer == null ? "TIMEOUT " + name : "MAPPED " + name + " " + answer);
                if (answer != null) {
                    System.out.println("RTT " + name + " " + rttNanos / 1000 + "us");
                }
                System.out.flush();
            }
            if (listenMs > 0) {
                System.out.println("LISTENING");
                System.out.flush();
                long deadline = System.nanoTime() + listenMs * 1_000_000L;
                while (System.nanoTime() < deadline) {
                    socket.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                        System.out.println("INBOUND " + text(p));
                        System.out.flush();
                    } catch (SocketTimeoutException e) {
                        break;
                    }
                }
            }
            System.out.println("DONE");
        }
    }

    private static String text(DatagramPacket p) {
        InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
        return UdpReflector.format(from) + " " + new String(p.getData(), 0, p.getLength(), StandardCharsets.US_ASCII);
    }
}
