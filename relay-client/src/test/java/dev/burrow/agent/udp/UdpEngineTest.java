package dev.burrow.agent.udp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.transport.Transport;
import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Two engines in one JVM joined by a fake relay that can replay, modify or drop packets; a real
 * UDP echo as the target and real UDP sockets as the local sources.
 */
class UdpEngineTest {
    final NodeIdentity alice = NodeIdentity.ephemeral("alice");
    final NodeIdentity bob = NodeIdentity.ephemeral("bob");
    final Transport transport = Transport.nio();
    EventLoopGroup group;
    DatagramSocket echo;
    Thread echoThread;
    UdpEngine aliceEngine;
    UdpEngine bobEngine;
    volatile UnaryOperator<ByteBuf> relayToAlice = UnaryOperator.identity();
    final List<ByteBuf> captured = new ArrayList<>();
    UdpForwarder forward;
    final ServiceRegistry aliceRegistry = new ServiceRegistry();
    final RecentRefusals bobRefusals = new RecentRefusals();

    /** The fake relay: delivers to the other engine as the relay would, with the sender it authenticated. */
    final class FakeRelay implements UdpPath {
        final NodeKey self;

        FakeRelay(NodeKey self) {
            this.self = self;
        }

        @Override
        public boolean send(NodeKey peer, ByteBuf packet) {
            UdpEngine to = peer.equals(alice.nodeKey()) ? aliceEngine : bobEngine;
            ByteBuf p = peer.equals(alice.nodeKey()) ? relayToAlice.apply(packet) : packet;
            if (p == null) {
                return true;
            }
            try {
                to.receiveFromRelay(self, p);
            } finally {
                p.release();
            }
            return true;
        }

        @Override
        public int maxPacket(NodeKey peer) {
            return 1400;
        }

        @Override
        public String name(NodeKey peer) {
            return "relay";
        }
    }

    @BeforeEach
    void start() throws Exception {
        group = transport.newEventLoopGroup(2, r -> new Thread(r, "udp-test"));
        echo = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        echoThread = new Thread(() -> {
            byte[] buf = new byte[2048];
            while (!echo.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    echo.receive(p);
                    echo.send(new DatagramPacket(p.getData(), p.getLength(), p.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        });
        echoThread.setDaemon(true);
        echoThread.start();
        ServiceRegistry registry = aliceRegistry;
        registry.replaceAll(List.of(new ExposedService(
                "echo",
                TargetPolicy.of(new TargetSpec("127.0.0.1", echo.getLocalPort())),
                AllowList.parse(List.of("node:" + bob.nodeKey().nodeId())),
                ConnectionCaps.DEFAULT_PER_SERVICE,
                ConnectionCaps.DEFAULT_PER_PEER,
                Duration.ofHours(1),
                null,
                null,
                ServiceProtocol.UDP)));
        NodeVerifier verifier = NodeVerifier.builder().build();
        aliceEngine = new UdpEngine(
                alice,
                verifier,
                registry,
                new WhoisTable(),
                new RecentRefusals(),
                group.next(),
                transport,
                new FakeRelay(alice.nodeKey()),
                UdpMetrics.NOOP,
                Duration.ofSeconds(30),
                Duration.ofSeconds(120));
        bobEngine = new UdpEngine(
                bob,
                verifier,
                new ServiceRegistry(),
                new WhoisTable(),
                bobRefusals,
                group.next(),
                transport,
                new FakeRelay(bob.nodeKey()),
                UdpMetrics.NOOP,
                Duration.ofSeconds(30),
                Duration.ofSeconds(120));
        forward = bobEngine
                .startForward(new UdpForwarder.Spec(
                        "127.0.0.1",
                        0,
                        () -> CompletableFuture.completedFuture(alice.nodeKey()),
                        "alice",
                        "echo",
                        1024))
                .get(10, TimeUnit.SECONDS);
    }

    @AfterEach
    void stop() {
        bobEngine.close();
        aliceEngine.close();
        echo.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        captured.forEach(ByteBuf::release);
    }

    String roundTrip(DatagramSocket s, String msg) throws IOException {
        byte[] b = msg.getBytes(StandardCharsets.UTF_8);
        s.send(new DatagramPacket(b, b.length, forward.boundAddress()));
        byte[] buf = new byte[2048];
        DatagramPacket p = new DatagramPacket(buf, buf.length);
        try {
            s.receive(p);
        } catch (SocketTimeoutException e) {
            return null;
        }
        return new String(buf, 0, p.getLength(), StandardCharsets.UTF_8);
    }

    @Test
    void twoHundredFlowsEachGetTheirOwnReplies() throws Exception {
        List<DatagramSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
                s.setSoTimeout(5000);
                sockets.add(s);
                byte[] b = ("flow-" + i).getBytes(StandardCharsets.UTF_8);
                s.send(new DatagramPacket(b, b.length, forward.boundAddress()));
            }
            for (int i = 0; i < 200; i++) {
                byte[] buf = new byte[100];
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                sockets.get(i).receive(p);
                assertThat(new String(buf, 0, p.getLength(), StandardCharsets.UTF_8))
                        .isEqualTo("flow-" + i);
            }
            assertThat(aliceEngine.status().openFlows()).isEqualTo(200);
            assertThat(bobEngine.status().openFlows()).isEqualTo(200);
        } finally {
            sockets.forEach(DatagramSocket::close);
        }
    }

    @Test
    void tamperedReplayedAndUnknownFlowDatagramsAreDroppedAndCounted() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            s.setSoTimeout(3000);
            assertThat(roundTrip(s, "hello")).isEqualTo("hello");
            // a relay that modifies one byte of the sealed box
            relayToAlice = p -> {
                ByteBuf t = p.copy();
                t.setByte(t.writerIndex() - 1, t.getByte(t.writerIndex() - 1) ^ 0x40);
                return t;
            };
            s.setSoTimeout(500);
            assertThat(roundTrip(s, "tampered")).isNull();
            await().atMost(Duration.ofSeconds(5)).until(() -> aliceEngine.dropped(UdpDropReason.UNDECRYPTABLE) >= 1);
            // a relay that replays every packet: the copy is dropped, the original is answered once
            relayToAlice = p -> {
                ByteBuf copy = p.copy();
                aliceEngine.receiveFromRelay(bob.nodeKey(), copy);
                copy.release();
                return p.retain();
            };
            s.setSoTimeout(3000);
            assertThat(roundTrip(s, "once")).isEqualTo("once");
            await().atMost(Duration.ofSeconds(5)).until(() -> aliceEngine.dropped(UdpDropReason.REPLAYED) >= 1);
            // a relay that names another sender for the packet
            relayToAlice = p -> {
                aliceEngine.receiveFromRelay(NodeIdentity.ephemeral("mallory").nodeKey(), p);
                return null;
            };
            s.setSoTimeout(500);
            assertThat(roundTrip(s, "spoofed")).isNull();
            await().atMost(Duration.ofSeconds(5)).until(() -> aliceEngine.dropped(UdpDropReason.UNKNOWN_SENDER) >= 1);
            relayToAlice = UnaryOperator.identity();
            s.setSoTimeout(3000);
            assertThat(roundTrip(s, "still works")).isEqualTo("still works");
        }
        // DATA for a flow alice never opened (sealed by bob's real key): dropped as an unknown flow
        ByteBuf stray = bobEngine.box.seal(
                alice.nodeKey(), new UdpMessage.Data(12345, new byte[4]), io.netty.buffer.ByteBufAllocator.DEFAULT);
        aliceEngine.receiveFromRelay(bob.nodeKey(), stray);
        stray.release();
        await().atMost(Duration.ofSeconds(5)).until(() -> aliceEngine.dropped(UdpDropReason.UNKNOWN_FLOW) >= 1);
        assertThat(aliceEngine.status().drops()).containsKeys("undecryptable", "replayed", "unknown_flow");
    }

    @Test
    void oversizedDatagramsAreRefusedAtTheConnectSide() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            s.setSoTimeout(500);
            int usable = 1400 - UdpLimits.DATA_OVERHEAD;
            byte[] big = new byte[usable + 1];
            s.send(new DatagramPacket(big, big.length, forward.boundAddress()));
            await().atMost(Duration.ofSeconds(5)).until(() -> bobEngine.dropped(UdpDropReason.TOO_LARGE) == 1);
            s.setSoTimeout(3000);
            byte[] fits = new byte[usable];
            s.send(new DatagramPacket(fits, fits.length, forward.boundAddress()));
            DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
            s.receive(p);
            assertThat(p.getLength()).isEqualTo(usable);
        }
    }

    @Test
    void aServiceRemovedOnReloadEndsItsFlowsAndNewOnesAreRefused() throws Exception {
        try (DatagramSocket s = new DatagramSocket(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0))) {
            s.setSoTimeout(3000);
            assertThat(roundTrip(s, "before")).isEqualTo("before");
            assertThat(bobEngine.status().openFlows()).isEqualTo(1);
            aliceRegistry.replaceAll(List.of());
            aliceEngine.servicesChanged();
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> aliceEngine.status().openFlows() == 0
                            && bobEngine.status().openFlows() == 0); // CLOSED reached bob
            s.setSoTimeout(1000);
            assertThat(roundTrip(s, "after")).isNull();
            // no service admits bob any more: he gets the one uniform answer, not "no such service"
            await().atMost(Duration.ofSeconds(5))
                    .untilAsserted(() -> assertThat(bobRefusals.snapshot())
                            .anySatisfy(r -> assertThat(r.code().name()).isEqualTo("NOT_ALLOWED")));
        }
    }

    @Test
    void openFloodsFromOnePeerAreCappedByRate() {
        int n = UdpLimits.OPEN_BURST + 200;
        byte[] cert = new byte[10];
        for (int i = 0; i < n; i++) {
            ByteBuf p = bobEngine.box.seal(
                    alice.nodeKey(),
                    new UdpMessage.Open(1_000_000 + i, "echo", cert),
                    io.netty.buffer.ByteBufAllocator.DEFAULT);
            aliceEngine.receiveFromRelay(bob.nodeKey(), p);
            p.release();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> aliceEngine.dropped(UdpDropReason.OPEN_RATE) >= 100);
        assertThat(aliceEngine.status().openFlows()).isZero(); // the bogus certificate admitted none
    }

    @Test
    void theFlowRateSettingIsParsedStrictly() {
        assertThat(UdpEngine.flowRate(null)).isZero();
        assertThat(UdpEngine.flowRate(" ")).isZero();
        assertThat(UdpEngine.flowRate("500")).isEqualTo(500.0);
        assertThat(UdpEngine.flowRate(" 2.5 ")).isEqualTo(2.5);
        for (String bad : List.of("-1", "fast", "NaN", "Infinity", "10/s")) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> UdpEngine.flowRate(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(UdpEngine.FLOW_RATE_ENV)
                    .hasMessageContaining("datagrams per second");
        }
    }
}
