package dev.burrow.agent.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.PublicIngress;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent's ingress chokepoint on real loopback sockets: a socket plays the relay's side of an
 * attached ingress circuit (PROXY v2 header, then client bytes), a server socket plays the target.
 */
class IngressGateTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final NodeIdentity self = NodeIdentity.ephemeral("listener");
    private final ServiceRegistry registry = new ServiceRegistry();
    private final RecentRefusals refusals = new RecentRefusals();
    private final ActiveStreams active = new ActiveStreams();
    private EventLoopGroup group;
    private Channel circuitServer;
    private ServerSocket target;
    private IngressGate gate;

    @BeforeEach
    void start() throws Exception {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("ingress-test", true));
        target = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        target.setSoTimeout((int) WAIT.toMillis());
        gate = new IngressGate(registry, Transport.nio(), AgentMetrics.NOOP, active, refusals, self.nodeKey());
    }

    @AfterEach
    void stop() throws Exception {
        if (circuitServer != null) {
            circuitServer.close().sync();
        }
        target.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    }

    private void expose(String name, PublicIngress pub, boolean proxyProtocol) {
        registry.replaceAll(List.of(new ExposedService(
                name,
                TargetPolicy.of(TargetSpec.parse("127.0.0.1:" + target.getLocalPort())),
                AllowList.parse(List.of(
                        "node:" + NodeIdentity.ephemeral("peer").nodeKey().nodeId())),
                8,
                8,
                Duration.ofMinutes(1),
                proxyProtocol ? ProxyProtocol.V2 : ProxyProtocol.OFF,
                pub)));
    }

    /** A socket whose accepted end is handed to the gate as an attached ingress circuit for {@code service}. */
    private Socket circuit(String service) throws Exception {
        if (circuitServer == null) {
            circuitServer = new ServerBootstrap()
                    .group(group)
                    .channel(Transport.nio().serverSocketChannel())
                    .childOption(ChannelOption.AUTO_READ, false)
                    .childHandler(new ChannelInitializer<Channel>() {
                        @Override
                        protected void initChannel(Channel ch) {
                            ch.eventLoop().execute(() -> gate.accept(ch, service));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0))
                    .sync()
                    .channel();
        }
        Socket s = new Socket();
        s.setSoTimeout((int) WAIT.toMillis());
        s.connect(circuitServer.localAddress(), (int) WAIT.toMillis());
        return s;
    }

    private static byte[] header(String client, int clientPort) {
        EmbeddedChannel enc = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        enc.writeOutbound(new HAProxyMessage(
                HAProxyProtocolVersion.V2,
                HAProxyCommand.PROXY,
                HAProxyProxiedProtocol.TCP4,
                client,
                "198.51.100.1",
                clientPort,
                20001));
        ByteBuf b = enc.readOutbound();
        byte[] out = ByteBufUtil.getBytes(b);
        b.release();
        enc.finishAndReleaseAll();
        return out;
    }

    private static boolean closedByGate(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (IOException e) {
            return true;
        }
    }

    @Test
    void aCircuitThatDiedBeforeTheGateTookItWaitsForNoHeader() {
        expose("web", PublicIngress.of(List.of("0.0.0.0/0")), false);
        var meters = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        IngressGate counted = new IngressGate(
                registry,
                Transport.nio(),
                new dev.burrow.agent.metrics.MicrometerAgentMetrics(meters),
                active,
                refusals,
                self.nodeKey());
        EmbeddedChannel circuit = new EmbeddedChannel();
        circuit.close();
        counted.accept(circuit, "web");
        assertThat(meters.get(AgentMetrics.STREAMS_ABANDONED)
                        .tag("stage", "arrival")
                        .counter()
                        .count())
                .isEqualTo(1);
        assertThat(circuit.pipeline().get("ingress-gate")).isNull();
        assertThat(circuit.runScheduledPendingTasks())
                .as("no header deadline left waiting")
                .isEqualTo(-1);
        assertThat(refusals.snapshot()).isEmpty();
    }

    @Test
    void anIngressCircuitNeverReachesAServiceThatDidNotOptIn() throws Exception {
        expose("db", null, false);
        // a service that is not public and one that does not exist get the same answer; the detail stays in status
        assertThat(gate.precheck("db"))
                .get()
                .isEqualTo(new IngressGate.Refusal(StreamStatusCode.NOT_ALLOWED, "not allowed"));
        assertThat(gate.precheck("nope"))
                .get()
                .isEqualTo(new IngressGate.Refusal(StreamStatusCode.NOT_ALLOWED, "not allowed"));
        assertThat(refusals.snapshot())
                .anySatisfy(r -> assertThat(r.code()).isEqualTo(StreamStatusCode.SERVICE_UNKNOWN));
        // even when the relay attaches anyway (a reload withdrew the opt-in, or a hostile relay), nothing reaches the
        // target
        try (Socket s = circuit("db")) {
            s.getOutputStream().write(header("203.0.113.9", 40000));
            s.getOutputStream().write("GET / HTTP/1.0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(closedByGate(s)).isTrue();
        }
        target.setSoTimeout(300);
        assertThat(acceptsNothing()).isTrue();
        assertThat(refusals.snapshot()).anySatisfy(r -> assertThat(r.message()).contains("not public"));
    }

    @Test
    void aPublicServiceGetsTheClientBytesAndThePassedOnProxyHeader() throws Exception {
        expose("web", PublicIngress.of(List.of("203.0.113.0/24")), true);
        assertThat(gate.precheck("web")).isEmpty();
        try (Socket s = circuit("web")) {
            s.getOutputStream().write(header("203.0.113.9", 40000));
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            try (Socket t = target.accept()) {
                t.setSoTimeout((int) WAIT.toMillis());
                InputStream in = t.getInputStream();
                byte[] first = in.readNBytes(16 + 12 + 5);
                EmbeddedChannel dec = new EmbeddedChannel(new HAProxyMessageDecoder());
                dec.writeInbound(Unpooled.wrappedBuffer(first));
                HAProxyMessage m = dec.readInbound();
                ByteBuf rest = dec.readInbound();
                assertThat(m.sourceAddress()).isEqualTo("203.0.113.9");
                assertThat(m.sourcePort()).isEqualTo(40000);
                assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
                m.release();
                rest.release();
                dec.finishAndReleaseAll();
                t.getOutputStream().write("world".getBytes(StandardCharsets.US_ASCII));
                assertThat(new String(s.getInputStream().readNBytes(5), StandardCharsets.US_ASCII))
                        .isEqualTo("world");
                await().atMost(WAIT).until(() -> active.count() == 1);
                assertThat(active.snapshot().get(0).peerName()).isEqualTo("public 203.0.113.9:40000");
            }
        }
        await().atMost(WAIT).until(() -> active.count() == 0);
    }

    @Test
    void withoutProxyProtocolTheTargetGetsOnlyTheBytes() throws Exception {
        expose("web", PublicIngress.of(List.of("0.0.0.0/0")), false);
        try (Socket s = circuit("web")) {
            s.getOutputStream().write(header("203.0.113.9", 40000));
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            try (Socket t = target.accept()) {
                t.setSoTimeout((int) WAIT.toMillis());
                assertThat(new String(t.getInputStream().readNBytes(5), StandardCharsets.US_ASCII))
                        .isEqualTo("hello");
            }
        }
    }

    @Test
    void aSourceOutsideAllowSourcesOrGarbageInsteadOfAHeaderIsRefused() throws Exception {
        expose("web", PublicIngress.of(List.of("10.0.0.0/8")), false);
        try (Socket s = circuit("web")) {
            s.getOutputStream().write(header("203.0.113.9", 40000));
            assertThat(closedByGate(s)).isTrue();
        }
        try (Socket s = circuit("web")) {
            s.getOutputStream()
                    .write("GET / HTTP/1.1\r\nHost: x\r\n\r\n".repeat(10).getBytes(StandardCharsets.US_ASCII));
            assertThat(closedByGate(s)).isTrue();
        }
        target.setSoTimeout(300);
        assertThat(acceptsNothing()).isTrue();
        assertThat(refusals.snapshot()).hasSize(2);
    }

    @Test
    void aHeaderSplitAcrossReadsStillParsesAndAnOversizedOneIsRefused() throws Exception {
        expose("web", PublicIngress.of(List.of("0.0.0.0/0")), false);
        byte[] h = header("203.0.113.9", 40000);
        try (Socket s = circuit("web")) {
            for (int i = 0; i < h.length; i += 5) {
                s.getOutputStream().write(h, i, Math.min(5, h.length - i));
                s.getOutputStream().flush();
                Thread.sleep(20);
            }
            s.getOutputStream().write("late".getBytes(StandardCharsets.US_ASCII));
            try (Socket t = target.accept()) {
                t.setSoTimeout((int) WAIT.toMillis());
                assertThat(new String(t.getInputStream().readNBytes(4), StandardCharsets.US_ASCII))
                        .isEqualTo("late");
            }
        }
        byte[] huge = h.clone();
        huge[14] = (byte) 0xFF; // length 0xFF0C: refused after the fixed 16 bytes, nothing buffered
        try (Socket s = circuit("web")) {
            s.getOutputStream().write(huge, 0, 16);
            assertThat(closedByGate(s)).isTrue();
        }
        assertThat(refusals.snapshot())
                .singleElement()
                .satisfies(r -> assertThat(r.message()).contains("too long"));
    }

    private boolean acceptsNothing() throws IOException {
        try (Socket unexpected = target.accept()) {
            return false;
        } catch (java.net.SocketTimeoutException e) {
            return true;
        }
    }
}
