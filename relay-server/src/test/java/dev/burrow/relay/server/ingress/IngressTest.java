package dev.burrow.relay.server.ingress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.PublishRefusedReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.SourcePrefix;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The relay's public ingress listener on real loopback sockets, with a test agent on the control protocol. */
class IngressTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private final NodeIdentity listenerId = NodeIdentity.ephemeral("listener");
    private RelayServer relay;
    private TestRelayClient listener;

    @AfterEach
    void stop() {
        if (listener != null) {
            listener.close();
        }
        if (relay != null) {
            relay.close();
        }
    }

    private void start(Map<String, String> extra) throws Exception {
        Map<String, String> m = new HashMap<>(
                Map.of("ingress.enabled", "true", "ingress.bind-address", "127.0.0.1", "ingress.port-range", "0"));
        m.putAll(extra);
        relay = TestRelays.start(m);
        listener = control(listenerId);
    }

    private TestRelayClient control(NodeIdentity id) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
        assertThat(c.authenticate(id, true)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private int publish(TestRelayClient c, String service, long maxConnections, String... sources) {
        c.send(new ClientFrame.Publish(
                service,
                maxConnections,
                0,
                Arrays.stream(sources).map(SourcePrefix::parse).toList()));
        RelayFrame.Published p = c.awaitFrame(RelayFrame.Published.class);
        assertThat(p.service()).isEqualTo(service);
        assertThat(p.publicAddress()).isEqualTo("127.0.0.1:" + p.port());
        return p.port();
    }

    private TestRelayClient attach(RelayFrame.CircuitOffer o) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.circuit(Mode.UPGRADE));
        c.send(new ClientFrame.CircuitAttach(o.circuitId(), o.token()));
        return c;
    }

    private static Socket client(int port) throws IOException {
        Socket s = new Socket();
        s.setSoTimeout((int) WAIT.toMillis());
        s.connect(new InetSocketAddress("127.0.0.1", port), (int) WAIT.toMillis());
        return s;
    }

    /** True when the relay ended the connection (EOF or reset) without sending a byte; false on a read timeout. */
    private static boolean endedWithoutData(Socket s) {
        try {
            return s.getInputStream().read() == -1;
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /** The relay resets a refused connection at once: sometimes before connect() even returns. */
    private static boolean refusedWithoutData(int port) {
        try (Socket s = client(port)) {
            return endedWithoutData(s);
        } catch (java.net.SocketTimeoutException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    private double counter(String outcome) {
        var c = relay.prometheus()
                .find(RelayMetrics.INGRESS_EVENTS)
                .tag(RelayMetrics.TAG_OUTCOME, outcome)
                .counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void relayWithoutIngressRefusesToPublish() throws Exception {
        relay = TestRelays.start(Map.of());
        listener = control(listenerId);
        listener.send(new ClientFrame.Publish("web", 8, 0, List.of(SourcePrefix.parse("0.0.0.0/0"))));
        RelayFrame.PublishRefused r = listener.awaitFrame(RelayFrame.PublishRefused.class);
        assertThat(r.reason()).isEqualTo(PublishRefusedReason.NOT_ENABLED);
        assertThat(relay.context().ingress().publications()).isEmpty();
    }

    @Test
    void aPlainClientReachesTheListenerWithAProxyV2HeaderFirst() throws Exception {
        start(Map.of());
        int port = publish(listener, "web", 8, "127.0.0.0/8");
        try (Socket s = client(port)) {
            s.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            assertThat(offer.ingress()).isTrue();
            assertThat(offer.service()).isEqualTo("web");
            assertThat(offer.source()).isEqualTo(listenerId.nodeKey());
            try (TestRelayClient circuit = attach(offer)) {
                circuit.awaitFrame(RelayFrame.CircuitAttached.class);
                await().atMost(WAIT).until(() -> circuit.circuitBytes().length >= 28 + 5);
                EmbeddedChannel decoder = new EmbeddedChannel(new HAProxyMessageDecoder());
                decoder.writeInbound(Unpooled.wrappedBuffer(circuit.circuitBytes()));
                HAProxyMessage header = decoder.readInbound();
                ByteBuf rest = decoder.readInbound();
                try {
                    assertThat(header.protocolVersion()).isEqualTo(HAProxyProtocolVersion.V2);
                    assertThat(header.sourceAddress()).isEqualTo("127.0.0.1");
                    assertThat(header.sourcePort()).isEqualTo(s.getLocalPort());
                    assertThat(header.destinationPort()).isEqualTo(port);
                    assertThat(rest.toString(StandardCharsets.US_ASCII)).isEqualTo("hello");
                } finally {
                    header.release();
                    rest.release();
                    decoder.finishAndReleaseAll();
                }
                circuit.writeRaw("world".getBytes(StandardCharsets.US_ASCII));
                byte[] got = s.getInputStream().readNBytes(5);
                assertThat(new String(got, StandardCharsets.US_ASCII)).isEqualTo("world");
                assertThat(counter("accepted")).isEqualTo(1);
                assertThat(relay.context().ingress().publications())
                        .singleElement()
                        .satisfies(p -> assertThat(p.openConnections()).isEqualTo(1));
            }
        }
        await().atMost(WAIT).until(() -> relay.context().ingress().openConnections() == 0);
    }

    @Test
    void anIngressCircuitIsNeverAttachedWithoutRelayTls() throws Exception {
        start(Map.of());
        int port = publish(listener, "web", 8, "127.0.0.1/32");
        try (Socket s = client(port)) {
            RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            // plain circuit connections are for end-to-end encrypted bytes; these are the client's plaintext
            try (TestRelayClient plain =
                    TestRelayClient.connect(relay.address(), null, Options.circuit(Mode.UPGRADE))) {
                plain.send(new ClientFrame.CircuitAttach(offer.circuitId(), offer.token()));
                assertThat(plain.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
            }
            assertThat(counter("plain_attach_refused")).isEqualTo(1);
            try (TestRelayClient circuit = attach(offer)) { // the token is still good over TLS
                circuit.awaitFrame(RelayFrame.CircuitAttached.class);
                await().atMost(WAIT).until(() -> circuit.circuitBytes().length >= 28);
            }
        }
    }

    @Test
    void aSourceOutsideThePrefixesIsResetBeforeAnythingElse() throws Exception {
        start(Map.of());
        int port = publish(listener, "web", 8, "10.0.0.0/8", "2001:db8::/32");
        assertThat(refusedWithoutData(port)).isTrue();
        assertThat(counter("source_not_allowed")).isEqualTo(1);
        assertThat(listener.count(RelayFrame.CircuitOffer.class)).isZero();
        assertThat(relay.context().ingress().openConnections()).isZero();
    }

    @Test
    void theServiceCapAndTheRelayCapResetTheExcess() throws Exception {
        start(Map.of(
                "ingress.max-connections", "3", "timeouts.circuit-token", "60s")); // the admitted ones stay pending
        int capped = publish(listener, "one", 1, "127.0.0.1/32");
        int other = publish(listener, "two", 100, "127.0.0.1/32");
        try (Socket first = client(capped)) {
            listener.awaitFrame(RelayFrame.CircuitOffer.class); // the first is in (waiting for the listener)
            assertThat(refusedWithoutData(capped)).isTrue();
            assertThat(counter("service_limit_reached")).isEqualTo(1);
            try (Socket a = client(other);
                    Socket b = client(other)) {
                await().atMost(WAIT).until(() -> relay.context().ingress().openConnections() == 3);
                assertThat(refusedWithoutData(other)).isTrue();
                assertThat(counter("relay_limit_reached")).isEqualTo(1);
                assertThat(first.isClosed()).isFalse();
            }
        }
    }

    @Test
    void aSourceOverItsAcceptRateIsResetAndOtherSourcesStillGetIn() throws Exception {
        // a burst of 2 and (practically) no refill; the admitted ones stay pending meanwhile
        start(Map.of(
                "ingress.connect-rate-per-ip",
                "0.001",
                "ingress.connect-burst-per-ip",
                "2",
                "timeouts.circuit-token",
                "60s"));
        int port = publish(listener, "web", 100, "127.0.0.0/8");
        try (Socket a = client(port);
                Socket b = client(port)) {
            listener.awaitFrame(RelayFrame.CircuitOffer.class);
            listener.awaitFrame(RelayFrame.CircuitOffer.class);
            assertThat(refusedWithoutData(port)).isTrue();
            assertThat(refusedWithoutData(port)).isTrue();
            assertThat(counter("rate_limited")).isEqualTo(2);
            assertThat(listener.count(RelayFrame.CircuitOffer.class))
                    .as("a refused source costs the listener nothing")
                    .isZero();
            // another source is not affected, and neither are the first source's open connections
            try (Socket c = new Socket()) {
                c.setSoTimeout((int) WAIT.toMillis());
                c.bind(new InetSocketAddress("127.0.0.2", 0));
                c.connect(new InetSocketAddress("127.0.0.1", port), (int) WAIT.toMillis());
                listener.awaitFrame(RelayFrame.CircuitOffer.class);
                assertThat(counter("rate_limited")).isEqualTo(2);
                assertThat(a.isClosed() || b.isClosed()).isFalse();
                await().atMost(WAIT).until(() -> relay.context().ingress().openConnections() == 3);
            }
        }
    }

    @Test
    void aBusyConnectionIsClosedAtTheMaximumDuration() throws Exception {
        // the idle timeout never fires (bytes flow all the time); the duration cap still ends it
        start(Map.of("ingress.max-connection-duration", "2s", "ingress.idle-timeout", "5m"));
        int port = publish(listener, "web", 8, "127.0.0.1/32");
        try (Socket s = client(port)) {
            RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            try (TestRelayClient circuit = attach(offer)) {
                circuit.awaitFrame(RelayFrame.CircuitAttached.class);
                java.util.concurrent.atomic.AtomicBoolean ended = new java.util.concurrent.atomic.AtomicBoolean();
                Thread reader = Thread.ofVirtual().start(() -> ended.set(endedWithoutData(s) || true));
                await().atMost(Duration.ofSeconds(30))
                        .pollInterval(Duration.ofMillis(200))
                        .until(() -> {
                            try {
                                s.getOutputStream().write('x'); // busy: a byte every 200 ms
                            } catch (IOException e) {
                                return true; // the relay closed it
                            }
                            return ended.get();
                        });
                reader.join(WAIT.toMillis());
                await().atMost(WAIT).until(() -> circuit.inputShutdown() || !circuit.isOpen());
                assertThat(circuit.circuitBytes().length)
                        .as("bytes flowed until the cap")
                        .isPositive();
            }
        }
        assertThat(counter("max_duration")).isEqualTo(1);
        assertThat(counter("idle_closed")).isZero();
        await().atMost(WAIT).until(() -> relay.context().ingress().openConnections() == 0);
    }

    @Test
    void aListenerRefusalOrSilenceResetsTheClient() throws Exception {
        start(Map.of("timeouts.circuit-token", "1s"));
        int port = publish(listener, "web", 8, "127.0.0.1/32");
        try (Socket s = client(port)) {
            RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            listener.send(
                    new ClientFrame.CircuitReject(offer.circuitId(), CircuitRejectReason.NOT_ALLOWED, "not public"));
            assertThat(endedWithoutData(s)).isTrue();
            assertThat(counter("listener_refused")).isEqualTo(1);
        }
        // silence: a client that waits on a listener that never attaches (slowloris on the offer) is reset after the
        // TTL
        try (Socket s = client(port)) {
            assertThat(endedWithoutData(s)).isTrue();
            assertThat(counter("timeout")).isEqualTo(1);
        }
        // the timed-out circuit's token is useless afterwards
        RelayFrame.CircuitOffer late = listener.frames().stream()
                .filter(f -> f instanceof RelayFrame.CircuitOffer)
                .map(f -> (RelayFrame.CircuitOffer) f)
                .reduce((a, b) -> b)
                .orElseThrow();
        try (TestRelayClient c = attach(late)) {
            assertThat(c.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.AUTH_FAILED);
        }
    }

    @Test
    void anIdleJoinedConnectionIsClosed() throws Exception {
        start(Map.of("ingress.idle-timeout", "1s"));
        int port = publish(listener, "web", 8, "127.0.0.1/32");
        try (Socket s = client(port)) {
            RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
            try (TestRelayClient circuit = attach(offer)) {
                circuit.awaitFrame(RelayFrame.CircuitAttached.class);
                InputStream in = s.getInputStream();
                assertThat(in.read()).isEqualTo(-1); // no bytes either way: closed by the idle timeout
                await().atMost(WAIT).until(() -> circuit.inputShutdown() || !circuit.isOpen());
            }
        }
        assertThat(counter("idle_closed")).isEqualTo(1);
    }

    @Test
    void theOwnerLeavingOrUnpublishingClosesThePort() throws Exception {
        start(Map.of());
        int port = publish(listener, "web", 8, "127.0.0.1/32");
        int second = publish(listener, "api", 8, "127.0.0.1/32");
        listener.send(new ClientFrame.Unpublish("web"));
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThatThrownBy(() -> client(port).close()).isInstanceOf(ConnectException.class));
        // publishing again keeps the port of a live publication
        assertThat(publish(listener, "api", 4, "127.0.0.1/32")).isEqualTo(second);
        listener.close();
        await().atMost(WAIT)
                .untilAsserted(
                        () -> assertThatThrownBy(() -> client(second).close()).isInstanceOf(ConnectException.class));
        await().atMost(WAIT)
                .until(() -> relay.context().ingress().publications().isEmpty());
        assertThat(counter("unpublished")).isEqualTo(2);
    }

    @Test
    void onlyAllowedNodesPublishAndPinnedPortsAreUsed() throws Exception {
        NodeIdentity other = NodeIdentity.ephemeral("other");
        try (java.net.ServerSocket probe = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            int pinned = probe.getLocalPort();
            probe.close();
            start(Map.of(
                    "ingress.port-range",
                    "none",
                    "ingress.allow-nodes",
                    listenerId.nodeKey().nodeId() + "," + other.nodeKey().nodeId(),
                    "ingress.static-ports",
                    listenerId.nodeKey().nodeId() + "/web=" + pinned));
            assertThat(publish(listener, "web", 8, "127.0.0.1/32")).isEqualTo(pinned);
            listener.send(new ClientFrame.Publish("ssh", 8, 0, List.of(SourcePrefix.parse("0.0.0.0/0"))));
            assertThat(listener.awaitFrame(RelayFrame.PublishRefused.class).reason())
                    .isEqualTo(PublishRefusedReason.NOT_ALLOWED);
        }
        try (TestRelayClient stranger = control(NodeIdentity.ephemeral("stranger"))) {
            stranger.send(new ClientFrame.Publish("web", 8, 0, List.of(SourcePrefix.parse("0.0.0.0/0"))));
            assertThat(stranger.awaitFrame(RelayFrame.PublishRefused.class).reason())
                    .isEqualTo(PublishRefusedReason.NOT_ALLOWED);
        }
    }
}
