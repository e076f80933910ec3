package dev.burrow.agent.stream;

import dev.burrow.identity.NodeKey;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** The streams open right now, in both directions, for status and shutdown. */
public final class ActiveStreams {

    /** One open stream. {@code local} is the local socket's label (client or target address). */
    public record Entry(
            long id,
            Direction direction,
            NodeKey peer,
            String peerName,
            String service,
            String path,
            String local,
            Instant since,
            Splice splice) {
        /** Bytes that came from the peer. */
        public long bytesFromPeer() {
            return direction == Direction.OUTBOUND ? splice.bytesBtoA() : splice.bytesAtoB();
        }

        /** Bytes sent to the peer. */
        public long bytesToPeer() {
            return direction == Direction.OUTBOUND ? splice.bytesAtoB() : splice.bytesBtoA();
        }
    }

    private final AtomicLong ids = new AtomicLong();
    private final ConcurrentHashMap<Long, Entry> open = new ConcurrentHashMap<>();
    private final AtomicLong totalBytesFromPeers = new AtomicLong();
    private final AtomicLong totalBytesToPeers = new AtomicLong();

    public long nextId() {
        return ids.incrementAndGet();
    }

    public void add(Entry e) {
        open.put(e.id(), e);
    }

    /** Removes an ended stream and adds its bytes to the totals. */
    public void remove(long id, long bytesFromPeer, long bytesToPeer) {
        if (open.remove(id) != null) {
            totalBytesFromPeers.addAndGet(bytesFromPeer);
            totalBytesToPeers.addAndGet(bytesToPeer);
        }
    }

    public List<Entry> snapshot() {
        return open.values().stream()
                .sorted(Comparator.comparingLong(Entry::id))
                .toList();
    }

    public int count() {
        return open.size();
    }

    /** Bytes from peers over streams that have ended (add the open ones' for a live total). */
    public long endedBytesFromPeers() {
        return totalBytesFromPeers.get();
    }

    public long endedBytesToPeers() {
        return totalBytesToPeers.get();
    }

    /** Closes every open stream (shutdown). */
    public void closeAll() {
        open.values().forEach(e -> e.splice().close());
    }
}
