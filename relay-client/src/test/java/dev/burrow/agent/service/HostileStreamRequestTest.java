package dev.burrow.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.MicrometerAgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.LogCapture;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.transport.Transport;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * disguised local targets/one target over every path/malformed open requests and stream floods from one peer on real sockets, end-to-end TLS between two node identities over a loopback path
 * into the inbound gate: an authenticated, allowed peer asks the exposing agent for targets it was
 * not given (addresses and names of loopback, any-address, link-local and cloud metadata spelled as
 * service names) and floods it with streams. The only target the agent ever connects to is the
 * configured one; every refusal is counted; a legitimate stream in between works.
 */
class HostileStreamRequestTest {
    @TempDir
    Path tmp;

    EventLoopGroup group;
    TestIdentities ids;
    NodeIdentity listener;
    NodeIdentity dialer;
    ServiceRegistry registry;
    ActiveStreams inboundActive;
    RecentRefusals outboundRefusals;
    SimpleMeterRegistry meters;
    LoopbackPath path;
    ServerSocket target;
    final AtomicInteger targetConnections = new AtomicInteger();
    final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("hostile", true));
        ids = TestIdentities.create(tmp);
        listener = ids.node("alice", "server");
        dialer = ids.selfSignedNode("bob");
        registry = new ServiceRegistry();
        inboundActive = new ActiveStreams();
        outboundRefusals = new RecentRefusals();
        meters = new SimpleMeterRegistry();
        InboundStreamGate gate = new InboundStreamGate(
                listener,
                ids.verifier(),
                registry,
                Transport.nio(),
                new MicrometerAgentMetrics(meters),
                inboundActive,
                new RecentRefusals());
        path = new LoopbackPath(group, gate);
        path.dialerKey(dialer.nodeKey());
        target = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        Thread.ofVirtual().start(() -> {
            while (!target.isClosed()) {
                try {
                    Socket s = target.accept();
                    targetConnections.incrementAndGet();
                    Thread.ofVirtual().start(() -> {
                        try (s) {
                            byte[] in = s.getInputStream().readAllBytes();
                            s.getOutputStream()
                                    .write(new String(in, StandardCharsets.UTF_8)
                                            .toUpperCase()
                                            .getBytes(StandardCharsets.UTF_8));
                        } catch (Exception ignored) {
                            // peer gone
                        }
                    });
                } catch (Exception e) {
                    return;
                }
            }
        });
        registry.replaceAll(List.of(new ExposedService(
                "web",
                TargetPolicy.of(new TargetSpec("127.0.0.1", target.getLocalPort())),
                AllowList.parse(List.of("node:" + dialer.nodeKey().nodeId())),
                8,
                4,
                Duration.ofMinutes(1))));
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closeables) {
            c.close();
        }
        target.close();
        path.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    ForwardListener forward(String service) throws Exception {
        ForwardListener f = new ForwardListener(
                new ForwardSpec("127.0.0.1", 0, listener.nodeKey(), "alice", service),
                PathSelector.only(path),
                new PeerStreamDialer(dialer, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                outboundRefusals,
                Duration.ofMinutes(1),
                1000);
        f.start().get(10, TimeUnit.SECONDS);
        closeables.add(f);
        return f;
    }

    double refused(String code) {
        Counter c = meters.find(AgentMetrics.STREAMS_REFUSED).tag("code", code).counter();
        return c == null ? 0 : c.count();
    }

    static String roundTrip(ForwardListener f, String text) throws Exception {
        try (Socket s = new Socket()) {
            s.connect(f.boundAddress(), 5000);
            s.setSoTimeout(20_000);
            s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            try {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (SocketException e) {
                return "<reset>";
            }
        }
    }

    @Test
    void targetsNamedByThePeerAreNeverConnectedTo() throws Exception {
        ForwardListener web = forward("web");
        assertThat(roundTrip(web, "before")).isEqualTo("BEFORE");
        int before = targetConnections.get();
        // every one is a valid service name, so each reaches the gate, which knows only "web"
        List<String> evil = List.of(
                "127.0.0.1",
                "0.0.0.0",
                "169.254.169.254",
                "127.0.0.2",
                "localhost",
                "metadata.google.internal",
                "metadata",
                "0",
                "2130706433",
                "web.",
                "web-",
                "web.localhost");
        for (String name : evil) {
            assertThat(roundTrip(forward(name), "x")).as(name).isIn("", "<reset>");
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> refused("service_unknown") >= evil.size());
        assertThat(targetConnections.get())
                .as("the agent connected only to its configured target")
                .isEqualTo(before);
        // the path announces one service and TLS carries another (one target over every path/identity spoofing in
        // routing metadata on the same chokepoint)
        path.announce(s -> "web");
        assertThat(roundTrip(forward("169.254.169.254"), "x")).isIn("", "<reset>");
        await().atMost(Duration.ofSeconds(10)).until(() -> refused("bad_request") >= 1);
        path.announce(s -> s);
        assertThat(targetConnections.get()).isEqualTo(before);
        assertThat(roundTrip(web, "after")).isEqualTo("AFTER");
    }

    @Test
    void aPeerDrawingRefusalsInALoopWritesAFewLogLinesNotOneEach() throws Exception {
        ForwardListener nope = forward("nope");
        int tries = 4 * LogBudget.LINES;
        try (LogCapture logs = LogCapture.start()) {
            long start = System.nanoTime();
            for (int i = 0; i < tries; i++) {
                assertThat(roundTrip(nope, "x")).isIn("", "<reset>");
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> refused("service_unknown") >= tries);
            long gateLines = logs.events().stream()
                    .filter(e -> e.getFormattedMessage().startsWith("refused stream from"))
                    .count();
            long forwardLines = logs.events().stream()
                    .filter(e -> e.getFormattedMessage().startsWith("forward alice/nope: connection from"))
                    .count();
            // a budget per window the tries touched (the first began when the forward was made)
            long windows = 2 + (System.nanoTime() - start) / LogBudget.WINDOW.toNanos();
            long allowed = Math.min(tries - 1, windows * LogBudget.LINES);
            assertThat(gateLines).isBetween(1L, allowed);
            assertThat(forwardLines).isBetween(1L, allowed);
        }
        assertThat(nope.failedConnections()).isEqualTo(tries); // every failure still counted
    }

    @Test
    void aStreamFloodFromOnePeerIsCappedAndTheSlotsComeBack() throws Exception {
        ForwardListener web = forward("web");
        List<Socket> flood = new ArrayList<>();
        try {
            // held-open streams: the target reads until EOF, so each holds a slot
            for (int i = 0; i < 40; i++) {
                Socket s = new Socket();
                s.connect(web.boundAddress(), 5000);
                s.setSoTimeout(20_000);
                flood.add(s);
            }
            await().atMost(Duration.ofSeconds(30)).until(() -> refused("limit_reached") >= 36);
            assertThat(inboundActive.count()).isLessThanOrEqualTo(4); // the per-peer cap
            assertThat(targetConnections.get()).isLessThanOrEqualTo(4);
        } finally {
            for (Socket s : flood) {
                s.setSoLinger(true, 0);
                s.close();
            }
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> inboundActive.count() == 0);
        assertThat(roundTrip(web, "still works")).isEqualTo("STILL WORKS");
    }
}
