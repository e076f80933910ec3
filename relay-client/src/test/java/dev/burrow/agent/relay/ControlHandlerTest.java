package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.timeout.IdleStateHandler;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The control handler alone, on an {@link EmbeddedChannel}, fed frame records. */
class ControlHandlerTest {
    private final NodeIdentity identity = TestIdentities.ephemeral("alice");
    private final byte[] challenge = RelayAuthProof.newChallenge();
    private final Events events = new Events();
    private final EmbeddedChannel ch = new EmbeddedChannel(new ControlHandler(
            identity,
            true,
            "unit",
            Duration.ofHours(1),
            Duration.ofSeconds(5),
            RelayClientMetrics.NOOP,
            events,
            System::nanoTime));

    static final class Events implements ControlHandler.Events {
        final List<RelayFrame> frames = new CopyOnWriteArrayList<>();
        final List<Throwable> closed = new CopyOnWriteArrayList<>();
        int accepted;
        int datagramRefCntDuringCall = -1;

        @Override
        public void accepted(ControlHandler h, RelayFrame.ServerHello hello, RelayFrame.ServerAccept accept) {
            accepted++;
        }

        @Override
        public void frame(ControlHandler h, RelayFrame frame) {
            if (frame instanceof RelayFrame.RecvDatagram d) {
                datagramRefCntDuringCall = d.refCnt();
            }
            frames.add(frame);
        }

        @Override
        public void rtt(ControlHandler h, Duration rtt) {}

        @Override
        public void writabilityChanged(ControlHandler h, boolean writable) {}

        @Override
        public void closed(ControlHandler h, Throwable cause) {
            closed.add(cause);
        }
    }

    @AfterEach
    void release() {
        ch.finishAndReleaseAll();
    }

    private ClientFrame.ClientAuth hello() {
        ch.writeInbound(new RelayFrame.ServerHello(RelayProtocol.VERSION, RelayProtocol.MIN_VERSION, challenge, "r1"));
        return ch.readOutbound();
    }

    @Test
    void answersHelloWithAProofBoundToTheChallengeAndKey() {
        ClientFrame.ClientAuth auth = hello();
        assertThat(auth.version()).isEqualTo(RelayProtocol.VERSION);
        assertThat(auth.key()).isEqualTo(identity.nodeKey());
        assertThat(auth.acceptsCircuits()).isTrue();
        assertThat(auth.software()).isEqualTo("unit");
        assertThat(auth.certificateChain()).hasSize(identity.certificateChain().size());
        assertThat(RelayAuthProof.verify(identity.nodeKey(), challenge, auth.signature()))
                .isTrue();
        // Not a signature over the raw challenge (chosen challenges).
        assertThat(RelayAuthProof.verify(identity.nodeKey(), RelayAuthProof.newChallenge(), auth.signature()))
                .isFalse();
    }

    @Test
    void acceptInstallsKeepaliveDetectionAndReportsOnce() {
        hello();
        ch.writeInbound(new RelayFrame.ServerAccept(10_000, 65_536, "1.2.3.4:5"));
        assertThat(events.accepted).isEqualTo(1);
        assertThat(ch.pipeline().get(IdleStateHandler.class)).isNotNull();
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void anUnsupportedVersionIsADenialWithoutSendingAuth() {
        ch.writeInbound(new RelayFrame.ServerHello(7, 5, challenge, "future"));
        assertThat(ch.outboundMessages()).isEmpty();
        assertThat(ch.isActive()).isFalse();
        assertThat(events.closed)
                .singleElement()
                .isInstanceOfSatisfying(
                        RelayDeniedException.class,
                        e -> assertThat(e.reason()).isEqualTo(DenyReason.UNSUPPORTED_VERSION));
    }

    @Test
    void aNewerRelayIsAnsweredInTheHighestCommonVersion() {
        ch.writeInbound(
                new RelayFrame.ServerHello(RelayProtocol.VERSION + 3, RelayProtocol.MIN_VERSION, challenge, "newer"));
        ClientFrame.ClientAuth auth = ch.readOutbound();
        assertThat(auth.version()).isEqualTo(RelayProtocol.VERSION);
        assertThat(ch.isActive()).isTrue();
    }

    @Test
    void anyFrameBeforeHelloIsAViolation() {
        ch.writeInbound(new RelayFrame.Keepalive());
        assertThat(ch.isActive()).isFalse();
        assertThat(events.closed).singleElement().isInstanceOf(ProtocolViolation.class);
    }

    @Test
    void aDatagramBeforeAcceptIsAViolationAndReleased() {
        hello();
        ByteBuf payload = Unpooled.buffer().writeInt(1);
        ch.writeInbound(new RelayFrame.RecvDatagram(TestIdentities.randomNodeKey(), payload));
        assertThat(payload.refCnt()).isZero();
        assertThat(ch.isActive()).isFalse();
        assertThat(events.frames).isEmpty();
    }

    @Test
    void denyIsSurfacedWithReasonAndMessage() {
        hello();
        ch.writeInbound(new RelayFrame.Deny(DenyReason.AUTH_FAILED, "who are you"));
        assertThat(ch.isActive()).isFalse();
        assertThat(events.closed).singleElement().isInstanceOfSatisfying(RelayDeniedException.class, e -> {
            assertThat(e.reason()).isEqualTo(DenyReason.AUTH_FAILED);
            assertThat(e.relayMessage()).isEqualTo("who are you");
            assertThat(e.definitive()).isTrue();
        });
    }

    @Test
    void afterAcceptPingsAreAnsweredAndDatagramsDeliveredThenReleased() {
        hello();
        ch.writeInbound(new RelayFrame.ServerAccept(0, 65_536, ""));
        byte[] data = {9, 8, 7, 6, 5, 4, 3, 2};
        ch.writeInbound(new Frame.Ping(data));
        Object pong = ch.readOutbound();
        assertThat(pong).isEqualTo(new Frame.Pong(data));

        ByteBuf payload = Unpooled.buffer().writeInt(42);
        ch.writeInbound(new RelayFrame.RecvDatagram(TestIdentities.randomNodeKey(), payload));
        assertThat(events.datagramRefCntDuringCall).isEqualTo(1);
        assertThat(payload.refCnt()).isZero();
        ch.writeInbound(new Frame.Unknown(0x7f, 3));
        assertThat(ch.isActive()).isTrue();
        ch.writeInbound(new RelayFrame.ServerAccept(0, 65_536, ""));
        assertThat(ch.isActive()).isFalse();
        assertThat(events.closed).singleElement().isInstanceOf(ProtocolViolation.class);
    }

    @Test
    void closeIsReportedExactlyOnce() {
        hello();
        ch.close();
        ch.close();
        assertThat(events.closed).hasSize(1);
    }
}
