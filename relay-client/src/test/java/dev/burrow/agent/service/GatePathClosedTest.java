package dev.burrow.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.MicrometerAgentMetrics;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.transport.Transport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exposing agent stops waiting for a stream's OPEN the moment the stream's path (a relay
 * circuit's transport, a direct connection) closes: nothing stays scheduled, no refusal is
 * invented, and {@code burrow.agent.streams.abandoned} says at which stage it happened. Without
 * this the gate held the stream for its whole preamble timeout
 * ({@link StreamDefaults#PREAMBLE_TIMEOUT}).
 */
class GatePathClosedTest {
    @TempDir
    Path tmp;

    TestIdentities ids;
    NodeIdentity listener;
    NodeIdentity dialer;
    ServiceRegistry registry;
    SimpleMeterRegistry meters;
    RecentRefusals refusals;
    InboundStreamGate gate;

    @BeforeEach
    void setUp() throws Exception {
        ids = TestIdentities.create(tmp);
        listener = ids.node("alice", "server");
        dialer = ids.selfSignedNode("bob");
        registry = new ServiceRegistry();
        registry.replaceAll(List.of(new ExposedService(
                "web",
                TargetPolicy.of(new TargetSpec("127.0.0.1", 9)),
                AllowList.parse(List.of("node:" + dialer.nodeKey().nodeId())),
                8,
                4,
                Duration.ofMinutes(1))));
        meters = new SimpleMeterRegistry();
        refusals = new RecentRefusals();
        gate = new InboundStreamGate(
                listener,
                ids.verifier(),
                registry,
                Transport.nio(),
                new MicrometerAgentMetrics(meters),
                new ActiveStreams(),
                refusals);
    }

    double abandoned(String stage) {
        Counter c =
                meters.find(AgentMetrics.STREAMS_ABANDONED).tag("stage", stage).counter();
        return c == null ? 0 : c.count();
    }

    double refusedTotal() {
        return meters.find(AgentMetrics.STREAMS_REFUSED).counters().stream()
                .mapToDouble(Counter::count)
                .sum();
    }

    @Test
    void aStreamWhosePathClosedBeforeTheGateTookItIsDroppedAtOnce() {
        // the circuit died between CIRCUIT_ATTACHED and the hand-over to the gate
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.close();
        gate.accept(new InboundStream(ch, "relay", dialer.nodeKey(), "web"));
        assertThat(abandoned("arrival")).isEqualTo(1);
        assertThat(ch.pipeline().get(InboundStreamGate.GATE_HANDLER)).isNull();
        assertThat(ch.runScheduledPendingTasks()).as("no deadline left waiting").isEqualTo(-1);
        assertThat(refusedTotal()).isZero();
        assertThat(refusals.snapshot()).isEmpty();
    }

    @Test
    void aPathClosingBeforeTheDialersTlsEndsTheWaitAtOnce() {
        EmbeddedChannel ch = new EmbeddedChannel();
        gate.accept(new InboundStream(ch, "relay", dialer.nodeKey(), "web"));
        assertThat(ch.pipeline().get(InboundStreamGate.GATE_HANDLER)).isNotNull();
        assertThat(ch.runScheduledPendingTasks())
                .as("the OPEN deadline is armed")
                .isNotEqualTo(-1);
        ch.close(); // the relay connection carrying the circuit is gone
        assertThat(abandoned("tls")).isEqualTo(1);
        assertThat(ch.runScheduledPendingTasks())
                .as("the OPEN and handshake deadlines are cancelled")
                .isEqualTo(-1);
        assertThat(refusedTotal())
                .as("not a refusal: nobody was left to refuse")
                .isZero();
        ch.finishAndReleaseAll();
    }

    @Test
    void aPathClosingAfterTlsBeforeOpenEndsTheWaitAtOnceOnRealSockets() throws Exception {
        EventLoopGroup group = Transport.nio().newEventLoopGroup(1, new DefaultThreadFactory("gate-closed", true));
        LoopbackPath path = new LoopbackPath(group, gate);
        try {
            path.dialerKey(dialer.nodeKey());
            Channel ch = path.open(listener.nodeKey(), "web").get(10, TimeUnit.SECONDS);
            SslHandler tls =
                    NodeTls.client(dialer, ids.verifier(), listener.nodeKey()).newHandler(ch.alloc());
            ch.pipeline().addLast(tls);
            ch.config().setAutoRead(true);
            assertThat(tls.handshakeFuture().await(20, TimeUnit.SECONDS)).isTrue();
            assertThat(tls.handshakeFuture().isSuccess()).isTrue();
            ch.close().syncUninterruptibly(); // TLS done, no OPEN: the dialer's transport dies
            // well inside the 30 s OPEN deadline the old gate waited for
            await().atMost(Duration.ofSeconds(10)).until(() -> abandoned("open") == 1);
            assertThat(refusedTotal()).isZero();
        } finally {
            path.close();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
