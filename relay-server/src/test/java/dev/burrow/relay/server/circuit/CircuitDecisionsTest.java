package dev.burrow.relay.server.circuit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.forward.PeerWatchers;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The circuit manager's decisions without sockets: clients on {@link EmbeddedChannel}s whose event
 * loops run on frozen time (the token TTL passes when the test says so), circuits' ages from a fake
 * clock.
 */
class CircuitDecisionsTest {
    private static final Duration TTL = Duration.ofSeconds(10);

    private final RelayConfig config =
            TestRelays.config(Map.of("limits.pending-circuits-per-client", "8", "timeouts.circuit-token", "10s"));
    private final ClientRegistry registry =
            new ClientRegistry(new PeerWatchers(100, 8, Duration.ofMinutes(1)), RelayMetrics.NOOP);
    private long clock = 0;
    private final CircuitManager circuits = new CircuitManager(
            registry,
            config.limits(),
            TTL,
            Duration.ofMinutes(10),
            RelayMetrics.NOOP,
            () -> false,
            MeshCircuits.NONE,
            null,
            () -> clock);
    private final List<EmbeddedChannel> channels = new ArrayList<>();

    private ClientSession client(String name) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.freezeTime();
        channels.add(ch);
        ClientSession s = new ClientSession(
                NodeIdentity.ephemeral(name).nodeKey(),
                ch,
                true,
                32,
                256,
                TimeUnit.SECONDS.toNanos(2),
                1,
                3,
                RelayMetrics.NOOP,
                d -> {});
        registry.register(s);
        return s;
    }

    @AfterEach
    void close() {
        channels.forEach(EmbeddedChannel::finishAndReleaseAll);
    }

    /** Control frames the relay sent {@code s} since the last look. */
    private static List<RelayFrame> sent(ClientSession s) {
        EmbeddedChannel ch = (EmbeddedChannel) s.channel();
        ch.runPendingTasks();
        List<RelayFrame> out = new ArrayList<>();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            out.add((RelayFrame) o);
        }
        return out;
    }

    private static <T> T only(List<RelayFrame> frames, Class<T> type) {
        assertThat(frames).singleElement().isInstanceOf(type);
        return type.cast(frames.get(0));
    }

    @Test
    void theTwoEndsPairByTheirTokensAndATokenWorksOnce() {
        ClientSession dialer = client("dialer");
        ClientSession listener = client("listener");
        circuits.request(dialer, new ClientFrame.CircuitRequest(7, listener.key(), "web"));
        RelayFrame.CircuitOffer offer = only(sent(listener), RelayFrame.CircuitOffer.class);
        assertThat(offer.source()).isEqualTo(dialer.key());

        EmbeddedChannel early = new EmbeddedChannel();
        channels.add(early);
        assertThat(circuits.attach(early, new ClientFrame.CircuitAttach(offer.circuitId(), offer.token())))
                .as("the listener may attach before it accepts")
                .isEqualTo(CircuitManager.AttachResult.WAITING);
        assertThat(circuits.attach(
                        new EmbeddedChannel(), new ClientFrame.CircuitAttach(offer.circuitId(), offer.token())))
                .as("a used token")
                .isEqualTo(CircuitManager.AttachResult.REFUSED);

        circuits.accept(listener, new ClientFrame.CircuitAccept(offer.circuitId()));
        RelayFrame.CircuitAccepted accepted = only(sent(dialer), RelayFrame.CircuitAccepted.class);
        assertThat(accepted.requestId()).isEqualTo(7);
        assertThat(circuits.attach(
                        new EmbeddedChannel(), new ClientFrame.CircuitAttach(offer.circuitId(), offer.token())))
                .as("the listener's token is not the dialer's")
                .isEqualTo(CircuitManager.AttachResult.REFUSED);
        assertThat(circuits.pendingCount()).isEqualTo(1);
        assertThat(circuits.activeCount()).isZero();
    }

    @Test
    void aCircuitNotEstablishedWithinTheTokenTtlEndsWithTimeout() {
        ClientSession dialer = client("dialer");
        ClientSession listener = client("listener");
        circuits.request(dialer, new ClientFrame.CircuitRequest(1, listener.key(), "web"));
        RelayFrame.CircuitOffer offer = only(sent(listener), RelayFrame.CircuitOffer.class);
        EmbeddedChannel listenerEnd = new EmbeddedChannel();
        channels.add(listenerEnd);
        circuits.attach(listenerEnd, new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));

        EmbeddedChannel loop = (EmbeddedChannel) listener.channel();
        loop.advanceTimeBy(TTL.toMillis() - 1, TimeUnit.MILLISECONDS);
        loop.runScheduledPendingTasks();
        assertThat(sent(dialer)).as("still inside the TTL").isEmpty();
        assertThat(circuits.pendingCount()).isEqualTo(1);

        loop.advanceTimeBy(1, TimeUnit.MILLISECONDS);
        loop.runScheduledPendingTasks();
        RelayFrame.CircuitRejected rejected = only(sent(dialer), RelayFrame.CircuitRejected.class);
        assertThat(rejected.reason()).isEqualTo(CircuitRejectReason.TIMEOUT);
        assertThat(circuits.pendingCount()).isZero();
        assertThat(listenerEnd.isOpen()).as("the attached end is closed").isFalse();
        assertThat(circuits.attach(
                        new EmbeddedChannel(), new ClientFrame.CircuitAttach(offer.circuitId(), offer.token())))
                .as("a late attach")
                .isEqualTo(CircuitManager.AttachResult.REFUSED);
        assertThat(circuits.trackedClients()).isZero();
    }

    @Test
    void aFullListenerGivesTheOldestUnattachedSlotOfAHolderOfMoreToADialerHoldingNone() {
        ClientSession listener = client("listener");
        List<ClientSession> holders = List.of(client("a"), client("b"), client("c"), client("d"));
        // 8 pending slots, a quarter (2) per dialer: four dialers fill them, each circuit a little older than the next.
        for (ClientSession h : holders) {
            for (int i = 0; i < 2; i++) {
                clock += 100;
                circuits.request(h, new ClientFrame.CircuitRequest(i, listener.key(), "web"));
            }
        }
        assertThat(sent(listener)).hasSize(8);
        assertThat(circuits.pendingCount()).isEqualTo(8);

        ClientSession newcomer = client("newcomer");
        clock += 100;
        circuits.request(newcomer, new ClientFrame.CircuitRequest(9, listener.key(), "web"));
        assertThat(only(sent(listener), RelayFrame.CircuitOffer.class).source()).isEqualTo(newcomer.key());
        assertThat(sent(newcomer))
                .as("the newcomer waits for the listener's answer")
                .isEmpty();
        assertThat(circuits.pendingCount()).isEqualTo(8);

        List<RelayFrame> told = new ArrayList<>();
        holders.forEach(h -> told.addAll(sent(h)));
        RelayFrame.CircuitRejected evicted = only(told, RelayFrame.CircuitRejected.class);
        assertThat(evicted.reason()).isEqualTo(CircuitRejectReason.LIMIT_REACHED);
        assertThat(evicted.requestId()).as("the holder's older circuit").isZero();
    }
}
