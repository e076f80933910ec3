package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.relay.server.metrics.RelayMetrics;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** A {@link MeshNode} that records what it is told. */
final class FakeNode implements MeshNode {
    final byte[] instance;
    final MeshKey key;
    final Map<RelayMetrics.MeshEvent, Integer> events = new EnumMap<>(RelayMetrics.MeshEvent.class);
    final List<NodeKey> added = new ArrayList<>();
    final List<NodeKey> removed = new ArrayList<>();
    final List<MeshFrame> received = new ArrayList<>();
    int linksDown;
    final RelayMetrics metrics = new RelayMetrics() {
        @Override
        public void meshEvent(MeshEvent event) {
            events.merge(event, 1, Integer::sum);
        }

        @Override
        public void handshake(HandshakeOutcome outcome) {}

        @Override
        public void datagramForwarded(int payloadBytes) {}

        @Override
        public void dropped(dev.burrow.relay.server.metrics.DropReason reason) {}

        @Override
        public void rateLimited(RateLimitKind kind) {}

        @Override
        public void protocolViolation(String kind) {}

        @Override
        public void unknownFrame() {}

        @Override
        public void duplicateClient() {}

        @Override
        public void circuitEvent(CircuitEvent event) {}

        @Override
        public void circuitBytes(long bytes) {}

        @Override
        public <T> void bindGauges(
                T state,
                java.util.function.ToDoubleFunction<T> a,
                java.util.function.ToDoubleFunction<T> b,
                java.util.function.ToDoubleFunction<T> c,
                java.util.function.ToDoubleFunction<T> d,
                java.util.function.ToDoubleFunction<T> e) {}

        @Override
        public void transport(String transportName) {}
    };

    FakeNode(byte[] instance, String hexKey) throws MeshKey.MeshKeyException {
        this.instance = instance;
        this.key = MeshKey.parse(hexKey);
    }

    int count(RelayMetrics.MeshEvent e) {
        return events.getOrDefault(e, 0);
    }

    @Override
    public byte[] instanceId() {
        return instance.clone();
    }

    @Override
    public String relayId() {
        return "fake";
    }

    @Override
    public MeshKey key() {
        return key;
    }

    @Override
    public RelayMetrics metrics() {
        return metrics;
    }

    @Override
    public void routesAdded(MeshLink link, Collection<NodeKey> keys) {
        added.addAll(keys);
    }

    @Override
    public void routesRemoved(MeshLink link, Collection<NodeKey> keys) {
        removed.addAll(keys);
    }

    final List<MeshFrame.Named> names = new ArrayList<>();

    @Override
    public void namesAnnounced(MeshLink link, List<MeshFrame.Named> entries) {
        names.addAll(entries);
    }

    @Override
    public void circuitAccepted(MeshLink link, MeshFrame.CircuitAccepted a) {
        received.add(a);
    }

    @Override
    public void circuitRejected(MeshLink link, MeshFrame.CircuitRejected r) {
        received.add(r);
    }

    @Override
    public void deliver(MeshFrame.Datagram d) {
        received.add(d);
        d.release();
    }

    @Override
    public void circuitRequested(MeshLink link, MeshFrame.CircuitRequest r) {
        received.add(r);
    }

    @Override
    public void linkDown(MeshLink link) {
        linksDown++;
    }
}
