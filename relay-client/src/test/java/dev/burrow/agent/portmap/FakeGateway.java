package dev.burrow.agent.portmap;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A port-mapping gateway on loopback for client tests: every datagram it receives is recorded and
 * passed to {@code answer}, which returns the datagrams to send back (none: silence).
 */
final class FakeGateway implements AutoCloseable {
    final List<byte[]> received = new CopyOnWriteArrayList<>();
    private final DatagramSocket socket;
    private final Thread thread;

    FakeGateway(Function<byte[], List<byte[]>> answer) {
        try {
            socket = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        } catch (SocketException e) {
            throw new UncheckedIOException(e);
        }
        thread = Thread.ofPlatform().daemon().name("fake-gateway").start(() -> {
            byte[] buf = new byte[2048];
            while (!socket.isClosed()) {
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    socket.receive(p);
                    byte[] got = Arrays.copyOf(buf, p.getLength());
                    received.add(got);
                    for (byte[] out : answer.apply(got)) {
                        socket.send(new DatagramPacket(out, out.length, p.getSocketAddress()));
                    }
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    InetSocketAddress address() {
        return (InetSocketAddress) socket.getLocalSocketAddress();
    }

    /** The requests that were PCP MAP requests, decoded. */
    List<PcpCodec.MapRequest> pcpRequests() {
        return received.stream()
                .filter(b -> b.length == PcpCodec.MAP_LENGTH)
                .map(b -> PcpCodec.decodeRequest(b, b.length))
                .filter(d -> d instanceof Decoded.Ok)
                .map(d -> ((Decoded.Ok<PcpCodec.MapRequest>) d).value())
                .toList();
    }

    @Override
    public void close() throws InterruptedException {
        socket.close();
        thread.join(5000);
    }
}
