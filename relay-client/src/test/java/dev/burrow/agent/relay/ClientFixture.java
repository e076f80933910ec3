package dev.burrow.agent.relay;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.PeerGoneReason;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/** Test helpers: configurations against a {@link FakeRelay} and a listener that records everything. */
final class ClientFixture {
    private ClientFixture() {}

    static RelayClientConfig.Builder config(FakeRelay relay, NodeIdentity identity, ConnectMode mode) {
        return RelayClientConfig.builder(relay.url(), RelayTrust.pinned(relay.fingerprint()), identity)
                .mode(mode)
                .backoff(Duration.ofMillis(50), Duration.ofMillis(400))
                .handshakeTimeout(Duration.ofSeconds(20)) // generous: CI machines are small and loaded
                .software("test");
    }

    /** Records events; datagrams are copied. */
    static final class Recorder implements RelayClientListener, DatagramHandler {
        final List<RelayConnectionInfo> connected = new CopyOnWriteArrayList<>();
        final List<Throwable> disconnected = new CopyOnWriteArrayList<>();
        final List<Duration> retryDelays = new CopyOnWriteArrayList<>();
        final List<RelayDeniedException> denied = new CopyOnWriteArrayList<>();
        final List<Duration[]> restarting = new CopyOnWriteArrayList<>();
        final List<NodeKey> present = new CopyOnWriteArrayList<>();
        final List<NodeKey> gone = new CopyOnWriteArrayList<>();
        final List<PeerGoneReason> goneReasons = new CopyOnWriteArrayList<>();
        final List<String> health = new CopyOnWriteArrayList<>();
        final List<Duration> rtts = new CopyOnWriteArrayList<>();
        final LinkedBlockingQueue<Received> datagrams = new LinkedBlockingQueue<>();

        record Received(NodeKey source, byte[] payload) {}

        @Override
        public void connected(RelayConnectionInfo info) {
            connected.add(info);
        }

        @Override
        public void disconnected(Throwable cause, Duration retryIn) {
            disconnected.add(cause);
            retryDelays.add(retryIn);
        }

        @Override
        public void denied(RelayDeniedException denial, Duration retryIn) {
            denied.add(denial);
            retryDelays.add(retryIn);
        }

        @Override
        public void restarting(Duration reconnectIn, Duration tryFor) {
            restarting.add(new Duration[] {reconnectIn, tryFor});
        }

        @Override
        public void peerPresent(NodeKey peer) {
            present.add(peer);
        }

        @Override
        public void peerGone(NodeKey peer, PeerGoneReason reason) {
            gone.add(peer);
            goneReasons.add(reason);
        }

        @Override
        public void health(String problem) {
            health.add(problem);
        }

        @Override
        public void rtt(Duration rtt) {
            rtts.add(rtt);
        }

        @Override
        public void datagram(NodeKey source, ByteBuf payload) {
            datagrams.add(new Received(source, ByteBufUtil.getBytes(payload)));
        }
    }

    static RelayClient client(RelayClientConfig config, Recorder recorder) {
        RelayClient c = new RelayClient(config);
        c.addListener(recorder);
        c.setDatagramHandler(recorder);
        return c;
    }
}
