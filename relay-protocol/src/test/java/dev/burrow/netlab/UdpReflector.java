package dev.burrow.netlab;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A tiny UDP "what is my address" server for lab self-tests, run in a namespace with
 * {@code startJava}: every datagram is answered, from the socket it arrived on, with the sender's
 * address as text ({@code "203.0.113.10:40000"}). Prints {@code READY} once every socket is bound.
 *
 * <p>Usage: {@code UdpReflector HOST:PORT...}
 */
public final class UdpReflector {
    /** The longest request it reads; the reply is always short, so it never amplifies. */
    static final int MAX_DATAGRAM = 1500;

    private UdpReflector() {}

    public static void main(String[] args) throws IOException {
        try (Selector selector = Selector.open()) {
            List<DatagramChannel> channels = new ArrayList<>();
            for (String a : args) {
                DatagramChannel ch = DatagramChannel.open().bind(parse(a));
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ);
                channels.add(ch);
            }
            System.out.println("READY " + String.join(" ", args));
            System.out.flush();
            ByteBuffer buf = ByteBuffer.allocate(MAX_DATAGRAM);
            while (true) {
                selector.select();
                for (SelectionKey key : selector.selectedKeys()) {
                    DatagramChannel ch = (DatagramChannel) key.channel();
                    buf.clear();
                    InetSocketAddress from = (InetSocketAddress) ch.receive(buf);
                    if (from == null) {
                        continue;
                    }
                    String text = format(from);
                    try {
                        ch.send(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)), from);
                    } catch (IOException e) {
                        // No route back (a private source that was not NATed): the client times out, which is the
                        // point.
                        System.out.println("NO-ROUTE " + text);
                    }
                }
                selector.selectedKeys().clear();
            }
        }
    }

    /** {@code 203.0.113.10:40000}, {@code [2001:db8:1::10]:40000} or {@code 2001:db8:1::10:40000} (the last colon ends the host). */
    static InetSocketAddress parse(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        return new InetSocketAddress(host, Integer.parseInt(hostPort.substring(colon + 1)));
    }

    /** {@code 203.0.113.10:40000}, or {@code [2001:db8:1::10]:40000} for IPv6. */
    static String format(InetSocketAddress a) {
        String host = io.netty.util.NetUtil.toAddressString(a.getAddress()); // RFC 5952: 2001:db8::1
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    /** The wildcard to bind a client socket to: IPv6's (dual-stack) when any destination is IPv6, else IPv4's as always. */
    static String wildcardFor(java.util.Collection<InetSocketAddress> destinations) {
        return destinations.stream().anyMatch(d -> d.getAddress() instanceof java.net.Inet6Address) ? "::" : "0.0.0.0";
    }
}
