package dev.burrow.netlab;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * A bare UDP hole-punching peer for lab self-tests: from local port {@code --port} it sends a small
 * datagram to {@code --peer} every {@code --interval-ms} for {@code --duration-ms}, whatever it
 * receives, and prints {@code STARTED <port>} first, {@code RECEIVED <from>} for every datagram that arrives (from anyone), then
 * {@code DONE}. Sending for the whole duration matters: each side's packets only pass the other
 * NAT after that NAT has seen the other side send.
 *
 * <p>Usage: {@code UdpPuncher --port P --peer IP:PORT [--duration-ms 3000] [--interval-ms 100]}
 */
public final class UdpPuncher {
    private UdpPuncher() {}

    public static void main(String[] args) throws IOException {
        int port = 0;
        InetSocketAddress peer = null;
        long durationMs = 3000;
        int intervalMs = 100;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--peer" -> peer = UdpReflector.parse(args[++i]);
                case "--duration-ms" -> durationMs = Long.parseLong(args[++i]);
                case "--interval-ms" -> intervalMs = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (peer == null) {
            throw new IllegalArgumentException("--peer required");
        }
        byte[] punch = "netlab-punch".getBytes(StandardCharsets.US_ASCII);
        byte[] buf = new byte[UdpReflector.MAX_DATAGRAM];
        try (DatagramSocket socket =
                new DatagramSocket(new InetSocketAddress(UdpReflector.wildcardFor(java.util.List.of(peer)), port))) {
            socket.setSoTimeout(intervalMs);
            long deadline = System.nanoTime() + durationMs * 1_000_000L;
            System.out.println("STARTED " + socket.getLocalPort());
            System.out.flush();
            while (System.nanoTime() < deadline) {
                socket.send(new DatagramPacket(punch, punch.length, peer));
                long next = System.nanoTime() + intervalMs * 1_000_000L;
                while (System.nanoTime() < next) {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        socket.receive(p);
                    } catch (SocketTimeoutException e) {
                        break;
                    }
                    InetSocketAddress from = (InetSocketAddress) p.getSocketAddress();
                    System.out.println("RECEIVED " + UdpReflector.format(from));
                    System.out.flush();
                }
            }
            System.out.println("DONE");
        }
    }
}
