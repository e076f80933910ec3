package dev.burrow.agent.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.PeerAddresses;
import dev.burrow.agent.caller.ProxyHeaders;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerStreamDialer;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PathSelector;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.transport.Transport;
import io.netty.buffer.Unpooled;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.DataInputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate tells the target who is calling: the whois table holds the CA-issued identity for the
 * life of the target connection, and a service that opted in gets a PROXY v2 header (decoded here
 * with Netty's decoder) before the peer's first byte; one that did not gets the bytes untouched.
 */
class CallerIdentityGateTest {
    @TempDir
    Path tmp;

    EventLoopGroup group;
    TestIdentities ids;
    NodeIdentity listener;
    NodeIdentity dialer;
    ServiceRegistry registry;
    WhoisTable whois;
    LoopbackPath path;
    ServerSocket target;
    ExecutorService threads;
    ForwardListener forward;
    /** What the target saw per connection: the client port it saw, the header (or null) and the first payload line. */
    record Seen(int clientPort, Map<Integer, String> tlvs, HAProxyMessageFields header, String firstLine) {}

    record HAProxyMessageFields(
            HAProxyProxiedProtocol protocol, String source, int sourcePort, String destination, int destinationPort) {}

    final BlockingQueue<Seen> seen = new ArrayBlockingQueue<>(16);

    @BeforeEach
    void setUp() throws Exception {
        group = Transport.nio().newEventLoopGroup(2, new DefaultThreadFactory("test", true));
        ids = TestIdentities.create(tmp);
        listener = ids.node("alice", "server");
        dialer = ids.node("bob", "ops", "dev");
        registry = new ServiceRegistry();
        whois = new WhoisTable();
        InboundStreamGate gate = new InboundStreamGate(
                listener,
                ids.verifier(),
                registry,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                new RecentRefusals(),
                whois);
        path = new LoopbackPath(group, gate);
        path.dialerKey(dialer.nodeKey());
        target = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        threads = Executors.newCachedThreadPool();
    }

    @AfterEach
    void tearDown() throws Exception {
        if (forward != null) {
            forward.close();
        }
        target.close();
        threads.shutdownNow();
        path.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    void expose(ProxyProtocol proxy) throws Exception {
        registry.replaceAll(List.of(new ExposedService(
                "db",
                TargetPolicy.of(new TargetSpec("127.0.0.1", target.getLocalPort())),
                AllowList.parse(List.of("tag:ops")),
                10,
                10,
                Duration.ofMinutes(1),
                proxy)));
        forward = new ForwardListener(
                new ForwardSpec("127.0.0.1", 0, listener.nodeKey(), "alice", "db"),
                PathSelector.only(path),
                new PeerStreamDialer(dialer, ids.verifier()),
                group,
                Transport.nio(),
                AgentMetrics.NOOP,
                new ActiveStreams(),
                new RecentRefusals(),
                Duration.ofMinutes(1),
                10);
        forward.start().get(10, TimeUnit.SECONDS);
        threads.submit(() -> {
            while (!target.isClosed()) {
                Socket s = target.accept();
                threads.submit(() -> serve(s, proxy == ProxyProtocol.V2));
            }
            return null;
        });
    }

    /** Reads the header when one is expected, then one line; answers "ok\n" and waits for EOF. */
    private Void serve(Socket s, boolean header) throws Exception {
        try (s) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            Map<Integer, String> tlvs = new HashMap<>();
            HAProxyMessageFields fields = null;
            if (header) {
                byte[] fixed = new byte[16];
                in.readFully(fixed);
                int len = ((fixed[14] & 0xff) << 8) | (fixed[15] & 0xff);
                byte[] rest = new byte[len];
                in.readFully(rest);
                EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
                decoder.writeInbound(Unpooled.wrappedBuffer(fixed, rest));
                HAProxyMessage m = decoder.readInbound();
                try {
                    fields = new HAProxyMessageFields(
                            m.proxiedProtocol(),
                            m.sourceAddress(),
                            m.sourcePort(),
                            m.destinationAddress(),
                            m.destinationPort());
                    for (HAProxyTLV t : m.tlvs()) {
                        tlvs.put(t.typeByteValue() & 0xff, t.content().toString(StandardCharsets.UTF_8));
                    }
                } finally {
                    m.release();
                    decoder.finishAndReleaseAll();
                }
            }
            String line = readLine(in);
            seen.add(new Seen(s.getPort(), tlvs, fields, line));
            s.getOutputStream().write("ok\n".getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            in.read();
        }
        return null;
    }

    private static String readLine(InputStream in) throws Exception {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) >= 0 && c != '\n') {
            b.append((char) c);
        }
        return b.toString();
    }

    @Test
    void proxyV2HeaderNamesTheCallerAndWhoisKnowsTheConnectionUntilItCloses() throws Exception {
        expose(ProxyProtocol.V2);
        Seen s;
        try (Socket client = new Socket()) {
            client.connect(forward.boundAddress(), 5000);
            client.setSoTimeout(10_000);
            client.getOutputStream().write("PING\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(client.getInputStream())).isEqualTo("ok");
            s = seen.poll(10, TimeUnit.SECONDS);
            assertThat(s).isNotNull();
            assertThat(s.firstLine()).isEqualTo("PING");
            assertThat(s.header().protocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
            assertThat(s.header().source())
                    .isEqualTo(PeerAddresses.ipv4(dialer.nodeKey()).getHostAddress())
                    .startsWith("100.");
            assertThat(s.header().sourcePort()).isEqualTo(s.clientPort());
            assertThat(s.header().destination()).isEqualTo("127.0.0.1");
            assertThat(s.header().destinationPort()).isEqualTo(target.getLocalPort());
            assertThat(s.tlvs())
                    .containsEntry(ProxyHeaders.TLV_NODE_ID, dialer.nodeKey().nodeId())
                    .containsEntry(ProxyHeaders.TLV_NAME, "bob")
                    .containsEntry(ProxyHeaders.TLV_TAGS, "dev,ops")
                    .containsEntry(ProxyHeaders.TLV_SERVICE, "db")
                    .containsEntry(ProxyHeaders.TLV_PATH, "loopback");

            InetSocketAddress agentEnd = new InetSocketAddress("127.0.0.1", s.clientPort());
            Caller who = whois.lookup(agentEnd).orElseThrow();
            assertThat(who.nodeId()).isEqualTo(dialer.nodeKey().nodeId());
            assertThat(who.name()).isEqualTo("bob");
            assertThat(who.tags()).containsExactly("dev", "ops");
            assertThat(who.caIssued()).isTrue();
            assertThat(who.service()).isEqualTo("db");
            assertThat(who.local()).isEqualTo("127.0.0.1:" + s.clientPort());
            assertThat(who.mappedAddress()).isEqualTo(s.header().source());
            assertThat(whois.lookup(new InetSocketAddress("127.0.0.1", target.getLocalPort())))
                    .isEmpty();
        }
        InetSocketAddress gone = new InetSocketAddress("127.0.0.1", s.clientPort());
        await("whois entry removed")
                .atMost(Duration.ofSeconds(30))
                .until(() -> whois.lookup(gone).isEmpty());
        assertThat(whois.size()).isZero();
    }

    @Test
    void withoutTheOptInTheTargetGetsOnlyThePeersBytesButWhoisStillAnswers() throws Exception {
        expose(ProxyProtocol.OFF);
        try (Socket client = new Socket()) {
            client.connect(forward.boundAddress(), 5000);
            client.setSoTimeout(10_000);
            client.getOutputStream().write("PING\n".getBytes(StandardCharsets.US_ASCII));
            assertThat(readLine(client.getInputStream())).isEqualTo("ok");
            Seen s = seen.poll(10, TimeUnit.SECONDS);
            assertThat(s).isNotNull();
            assertThat(s.firstLine()).isEqualTo("PING");
            assertThat(whois.lookup(new InetSocketAddress("127.0.0.1", s.clientPort()))
                            .orElseThrow()
                            .nodeId())
                    .isEqualTo(dialer.nodeKey().nodeId());
        }
    }
}
