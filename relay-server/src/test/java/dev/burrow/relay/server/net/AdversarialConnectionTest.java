package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import java.io.InputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.slf4j.LoggerFactory;

/** oversized frame lengths, datagram size bounds, unknown frames and ping floods over real sockets on both transports, connection storms (connection storm), keepalive and idle, and no secrets in logs. */
class AdversarialConnectionTest {
    private RelayServer relay;

    @AfterEach
    void stop() {
        if (relay != null) {
            relay.close();
        }
    }

    private TestRelayClient client(Mode mode, NodeIdentity id) throws Exception {
        TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(mode));
        assertThat(c.authenticate(id, false)).isInstanceOf(RelayFrame.ServerAccept.class);
        return c;
    }

    private static byte[] header(int type, long len) {
        return ByteBuffer.allocate(5).put((byte) type).putInt((int) len).array();
    }

    @ParameterizedTest
    @EnumSource(Mode.class)
    void oversizedMalformedAndUnknownFramesAreContained(Mode mode) throws Exception {
        relay = TestRelays.start(Map.of());
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        try (TestRelayClient bystander = client(mode, b)) {
            for (long len : new long[] {0xFFFF_FFFFL, 0x8000_0000L, 32 + 65_537}) {
                try (TestRelayClient c = client(mode, a)) {
                    c.writeRaw(header(0x10, len));
                    assertThat(c.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.PROTOCOL_ERROR);
                    c.awaitClosed();
                }
            }
            try (TestRelayClient c = client(mode, a)) {
                byte[] badPing = new byte[5 + 3];
                System.arraycopy(header(0x20, 3), 0, badPing, 0, 5);
                c.writeRaw(badPing);
                assertThat(c.awaitFrame(RelayFrame.Deny.class).reason()).isEqualTo(DenyReason.PROTOCOL_ERROR);
                c.awaitClosed();
            }
            try (TestRelayClient c = client(mode, a)) {
                byte[] unknown = new byte[5 + 100];
                System.arraycopy(header(0x7D, 100), 0, unknown, 0, 5);
                c.writeRaw(unknown);
                c.send(new Frame.Ping(new byte[] {1, 2, 3, 4, 5, 6, 7, 8}));
                c.awaitFrame(Frame.Pong.class);
                c.sendDatagram(b.nodeKey(), new byte[] {42});
                assertThat(bystander.takeDatagram().payload()).containsExactly(42);
            }
            // the bystander never noticed
            bystander.send(new Frame.Ping(new byte[8]));
            bystander.awaitFrame(Frame.Pong.class);
            assertThat(bystander.isOpen()).isTrue();
        }
    }

    @Test
    void webSocketTextMessagesAndMissingSubprotocolAreRefused() throws Exception {
        relay = TestRelays.start(Map.of());
        try (TestRelayClient c = TestRelayClient.connect(
                relay.address(), TestRelays.clientTls(relay), Options.control(Mode.WEBSOCKET))) {
            c.awaitFrame(RelayFrame.ServerHello.class);
            // bypass the adapter: a text message is not our protocol
            c.channel().pipeline().addBefore("ws-adapter", "raw-text", new ChannelOutboundHandlerAdapter() {
                @Override
                public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
                    ctx.write(msg, promise);
                }
            });
            c.channel()
                    .pipeline()
                    .context("raw-text")
                    .writeAndFlush(new TextWebSocketFrame("hello"))
                    .sync();
            await().atMost(Duration.ofSeconds(10)).until(() -> !c.isOpen() || c.inputShutdown());
        }
        try (Socket s = new Socket(relay.address().getAddress(), relay.address().getPort())) {
            // plain HTTP on a TLS port: the TLS handshake fails and the connection is closed
            s.getOutputStream().write("GET /v1/relay HTTP/1.1\r\nHost: x\r\n\r\n".getBytes());
            s.setSoTimeout(10_000);
            InputStream in = s.getInputStream();
            while (in.read() >= 0) {
                // drain until closed
            }
        }
    }

    @Test
    void connectionStormIsRefusedEarlyAndEstablishedClientsAreUnaffected() throws Exception {
        relay = TestRelays.start(
                Map.of("limits.ip-connect-rate", "1", "limits.ip-connect-burst", "3", "limits.max-handshakes", "2"));
        NodeIdentity a = NodeIdentity.ephemeral("a");
        try (TestRelayClient established = client(Mode.UPGRADE, a)) { // uses 1 token
            List<Socket> storm = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    storm.add(new Socket(
                            relay.address().getAddress(), relay.address().getPort()));
                }
                // at most 2 handshakes in flight and at most the burst from this IP get past the gate
                await().atMost(Duration.ofSeconds(10)).until(() -> countClosed(storm) >= 18);
                assertThat(relay.context().gate().handshakesInFlight()).isLessThanOrEqualTo(2);
                double refused = relay.prometheus()
                                .find(RelayMetrics.RATE_LIMIT_EVENTS)
                                .tag("kind", "ip_connect")
                                .counter()
                                .count()
                        + relay.prometheus()
                                .find(RelayMetrics.RATE_LIMIT_EVENTS)
                                .tag("kind", "handshakes_in_flight")
                                .counter()
                                .count();
                assertThat(refused).isGreaterThanOrEqualTo(18);
            } finally {
                for (Socket s : storm) {
                    s.close();
                }
            }
            established.send(new Frame.Ping(new byte[8]));
            established.awaitFrame(Frame.Pong.class);
        }
    }

    private static int countClosed(List<Socket> sockets) {
        int n = 0;
        for (Socket s : sockets) {
            try {
                s.setSoTimeout(20);
                if (s.getInputStream().read() < 0) {
                    n++;
                }
            } catch (java.net.SocketTimeoutException e) {
                // still open
            } catch (Exception e) {
                n++;
            }
        }
        return n;
    }

    @Test
    void keepalivesAreSentAndIdleClientsAreClosed() throws Exception {
        relay = TestRelays.start(Map.of("timeouts.keepalive", "200ms", "timeouts.client-idle", "1500ms"));
        try (TestRelayClient c = client(Mode.UPGRADE, NodeIdentity.ephemeral("quiet"))) {
            c.awaitFrame(RelayFrame.Keepalive.class);
            c.awaitFrame(RelayFrame.Keepalive.class);
            c.awaitClosed(); // it never sent anything after auth
        }
    }

    @Test
    void secretsNeverReachTheLogs() throws Exception {
        ListAppender<ILoggingEvent> logs = new ListAppender<>();
        logs.start();
        Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(logs);
        try {
            relay = TestRelays.start(Map.of());
            NodeIdentity d = NodeIdentity.ephemeral("d");
            NodeIdentity l = NodeIdentity.ephemeral("l");
            List<String> secrets = new ArrayList<>();
            try (TestRelayClient dialer = client(Mode.UPGRADE, d)) {
                TestRelayClient listener = TestRelayClient.connect(
                        relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE));
                RelayFrame.ServerHello hello = listener.awaitFrame(RelayFrame.ServerHello.class);
                byte[] sig = RelayAuthProof.sign(l, hello.challenge());
                secrets.add(HexFormat.of().formatHex(sig));
                listener.send(new ClientFrame.ClientAuth(RelayProtocol.VERSION, 1, l.nodeKey(), sig, List.of(), "t"));
                listener.awaitFrame(RelayFrame.ServerAccept.class);
                dialer.send(new ClientFrame.CircuitRequest(1, l.nodeKey(), "ssh"));
                RelayFrame.CircuitOffer offer = listener.awaitFrame(RelayFrame.CircuitOffer.class);
                secrets.add(HexFormat.of().formatHex(offer.token().bytes()));
                listener.send(new ClientFrame.CircuitAccept(offer.circuitId()));
                RelayFrame.CircuitAccepted acc = dialer.awaitFrame(RelayFrame.CircuitAccepted.class);
                secrets.add(HexFormat.of().formatHex(acc.token().bytes()));
                try (TestRelayClient bad = TestRelayClient.connect(
                        relay.address(), TestRelays.clientTls(relay), Options.circuit(Mode.UPGRADE))) {
                    bad.send(new ClientFrame.CircuitAttach(
                            offer.circuitId(), dev.burrow.protocol.frame.CircuitToken.random()));
                    bad.awaitFrame(RelayFrame.Deny.class);
                }
                listener.close();
            }
            relay.close();
            String all = String.join(
                            "\n",
                            logs.list.stream()
                                    .map(AdversarialConnectionTest::messageAndFields)
                                    .toList())
                    .toLowerCase();
            for (String s : secrets) {
                assertThat(all).doesNotContain(s).doesNotContain(s.substring(0, 16));
            }
            assertThat(all).contains("event=circuit_attach_refused");
        } finally {
            root.detachAppender(logs);
        }
    }

    /** What the text log format prints of an event: the message and its key-value pairs. */
    private static String messageAndFields(ILoggingEvent e) {
        StringBuilder sb = new StringBuilder(e.getFormattedMessage());
        if (e.getKeyValuePairs() != null) {
            e.getKeyValuePairs()
                    .forEach(kv -> sb.append(' ').append(kv.key).append('=').append(kv.value));
        }
        return sb.toString();
    }
}
