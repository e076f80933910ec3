package dev.burrow.natlab;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;

/**
 * Lab program: a UDP echo server on {@code HOST:PORT} (every datagram goes back to its source as
 * is). Prints {@code udp echo listening} once bound; runs until killed.
 */
public final class NatTestUdpEcho {
    private NatTestUdpEcho() {}

    public static void main(String[] args) throws Exception {
        String[] hp = args[0].split(":");
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])))) {
            s.setReceiveBufferSize(4 << 20);
            System.out.println("udp echo listening on " + s.getLocalSocketAddress());
            System.out.flush();
            byte[] buf = new byte[65536];
            while (true) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                s.receive(p);
                s.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
            }
        }
    }
}
