package dev.burrow.netlab;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.util.ArrayDeque;
import java.util.concurrent.ThreadLocalRandom;

/**
 * The userspace half of a {@link DelayLink}, run inside the delay box namespace: two socat processes
 * turn the frames of two TAP devices into datagrams on loopback, and this program sends each frame
 * on to the other side after {@code delay}, dropping {@code loss} of them. Frames leave in arrival
 * order, so a fixed delay never reorders. The queue is bounded; overflow is dropped like a full
 * router buffer. Prints {@code READY} once bound.
 *
 * <p>Usage: {@code DelayShuttle LISTEN_PORT SIDE_A_PORT SIDE_B_PORT DELAY_MS LOSS_PER_MILLE}
 */
public final class DelayShuttle {
    /** At 1500-byte frames, about 6 MB in flight: far more than a lab test sends within one delay. */
    static final int MAX_QUEUED_FRAMES = 4096;
    /** Ethernet frames from a 1500-MTU veth plus headers fit easily. */
    static final int MAX_FRAME = 9000;

    private record Frame(long dueNanos, byte[] data, SocketAddress to) {}

    private DelayShuttle() {}

    public static void main(String[] args) throws IOException {
        int listen = Integer.parseInt(args[0]);
        InetSocketAddress a = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[1]));
        InetSocketAddress b = new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]));
        long delayNanos = Long.parseLong(args[3]) * 1_000_000L;
        int lossPerMille = Integer.parseInt(args[4]);
        ArrayDeque<Frame> queue = new ArrayDeque<>();
        try (DatagramChannel ch = DatagramChannel.open().bind(new InetSocketAddress("127.0.0.1", listen));
                Selector selector = Selector.open()) {
            ch.configureBlocking(false);
            ch.register(selector, SelectionKey.OP_READ);
            System.out.println("READY " + listen);
            System.out.flush();
            ByteBuffer buf = ByteBuffer.allocate(MAX_FRAME);
            while (true) {
                // Sleep until a frame arrives or the oldest queued frame is due (millisecond accuracy).
                long wait = queue.isEmpty()
                        ? 0
                        : Math.max(1, (queue.peek().dueNanos() - System.nanoTime() + 999_999) / 1_000_000);
                selector.select(wait);
                selector.selectedKeys().clear();
                SocketAddress from;
                while (true) {
                    buf.clear();
                    from = ch.receive(buf);
                    if (from == null) {
                        break;
                    }
                    SocketAddress to = from.equals(a) ? b : from.equals(b) ? a : null;
                    boolean lost =
                            lossPerMille > 0 && ThreadLocalRandom.current().nextInt(1000) < lossPerMille;
                    if (to != null && !lost && queue.size() < MAX_QUEUED_FRAMES) {
                        buf.flip();
                        byte[] data = new byte[buf.remaining()];
                        buf.get(data);
                        queue.add(new Frame(System.nanoTime() + delayNanos, data, to));
                    }
                }
                long now = System.nanoTime();
                while (!queue.isEmpty() && queue.peek().dueNanos() <= now) {
                    Frame f = queue.poll();
                    ch.send(ByteBuffer.wrap(f.data()), f.to());
                }
            }
        }
    }
}
