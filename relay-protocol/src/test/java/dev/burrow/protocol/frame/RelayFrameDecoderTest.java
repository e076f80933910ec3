package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.SampleFrames.bytes;
import static dev.burrow.protocol.frame.SampleFrames.key;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.HexFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class RelayFrameDecoderTest {
    private EmbeddedChannel channel;

    @AfterEach
    void tearDown() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    private EmbeddedChannel channel(FramePolicy policy) {
        channel = new EmbeddedChannel(new RelayFrameDecoder(policy));
        return channel;
    }

    private static ByteBuf header(int type, long length) {
        ByteBuf b = Unpooled.buffer(5);
        b.writeByte(type);
        b.writeInt((int) length);
        return b;
    }

    @Test
    void lengthFieldsAreUnsignedAndCheckedRightAfterTheHeader() {
        for (long length : new long[] {0xFFFF_FFFFL, 0x8000_0000L, FrameType.SEND_DATAGRAM.maxPayload() + 1L}) {
            EmbeddedChannel ch = new EmbeddedChannel(new RelayFrameDecoder(FramePolicy.RELAY_CONTROL));
            ByteBuf h = header(FrameType.SEND_DATAGRAM.code(), length);
            assertThatThrownBy(() -> ch.writeInbound(h))
                    .isInstanceOf(DecoderException.class)
                    .hasCauseInstanceOf(ProtocolViolation.class)
                    .hasMessageContaining("exceeds");
            assertThat(h.refCnt()).isZero();
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void datagramOf64KiBIsAcceptedAndOneByteMoreIsRefused() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        ByteBuf ok = Unpooled.buffer();
        FrameCodec.encode(new ClientFrame.SendDatagram(key(1), Unpooled.wrappedBuffer(new byte[65_536])), ok);
        assertThat(ch.writeInbound(ok)).isTrue();
        ClientFrame.SendDatagram d = ch.readInbound();
        assertThat(d.payload().readableBytes()).isEqualTo(65_536);
        d.release();
        assertThat(ok.refCnt()).isZero();

        ByteBuf tooBig = header(FrameType.SEND_DATAGRAM.code(), 32 + 65_537L);
        assertThatThrownBy(() -> ch.writeInbound(tooBig)).hasCauseInstanceOf(ProtocolViolation.class);
    }

    @Test
    void datagramShorterThanAKeyIsRefused() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        ByteBuf b = header(FrameType.SEND_DATAGRAM.code(), 31);
        b.writeBytes(bytes(31, 1));
        assertThatThrownBy(() -> ch.writeInbound(b))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("too short");
        assertThat(b.refCnt()).isZero();
    }

    @Test
    void framesSplitAtEveryByteStillDecode() {
        EmbeddedChannel ch = channel(FramePolicy.CLIENT_CONTROL);
        ByteBuf all = Unpooled.buffer();
        for (Frame f : SampleFrames.oneOfEach().values()) {
            if (f.type().sentByRelay() && f.type() != FrameType.CIRCUIT_ATTACHED) {
                FrameCodec.encode(f, all);
            }
            if (f instanceof DatagramFrame d) {
                d.release();
            }
        }
        int frames = 0;
        while (all.isReadable()) {
            ch.writeInbound(all.readRetainedSlice(1));
            Object o;
            while ((o = ch.readInbound()) != null) {
                frames++;
                if (o instanceof DatagramFrame d) {
                    assertThat(d.payload().readableBytes()).isEqualTo(5);
                    d.release();
                }
            }
        }
        all.release();
        long relaySent = java.util.Arrays.stream(FrameType.values())
                .filter(t -> t.sentByRelay() && t != FrameType.CIRCUIT_ATTACHED)
                .count();
        assertThat(frames).isEqualTo(relaySent); // every relay-sent type but CIRCUIT_ATTACHED
    }

    @Test
    void unknownTypesAreSkippedWithoutBufferingAndTheNextFrameDecodes() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        ch.writeInbound(header(0x7E, 10_000));
        Frame.Unknown unknown = ch.readInbound();
        assertThat(unknown).isEqualTo(new Frame.Unknown(0x7E, 10_000));
        // Feed the skipped payload in chunks; nothing is emitted for it.
        for (int i = 0; i < 10; i++) {
            ch.writeInbound(Unpooled.wrappedBuffer(new byte[1000]));
        }
        assertThat((Object) ch.readInbound()).isNull();
        ByteBuf ping = Unpooled.buffer();
        FrameCodec.encode(new Frame.Ping(bytes(8, 9)), ping);
        ch.writeInbound(ping);
        assertThat((Object) ch.readInbound()).isEqualTo(new Frame.Ping(bytes(8, 9)));
    }

    @Test
    void unknownTypesAreNotSkippedBeforeAuthentication() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_AWAITING_AUTH);
        assertThatThrownBy(() -> ch.writeInbound(header(0x7E, 10)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("awaiting-auth");
    }

    @Test
    void unknownFramesOverTheSkipLimitAreRefused() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        assertThatThrownBy(() -> ch.writeInbound(header(0x7E, FrameLimits.MAX_UNKNOWN_PAYLOAD + 1L)))
                .hasCauseInstanceOf(ProtocolViolation.class);
    }

    @Test
    void onlyClientAuthBeforeAuthenticationAndItsSizeIsCapped() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_AWAITING_AUTH);
        assertThatThrownBy(() -> ch.writeInbound(header(FrameType.PING.code(), 8)))
                .hasCauseInstanceOf(ProtocolViolation.class);
        EmbeddedChannel ch2 = new EmbeddedChannel(new RelayFrameDecoder(FramePolicy.RELAY_AWAITING_AUTH));
        assertThatThrownBy(() -> ch2.writeInbound(header(FrameType.CLIENT_AUTH.code(), 256 * 1024 + 1)))
                .hasCauseInstanceOf(ProtocolViolation.class)
                .hasMessageContaining("exceeds");
        ch2.finishAndReleaseAll();
    }

    @Test
    void pingDataOutsideEightToThousandBytesIsRefused() {
        for (int size : new int[] {7, 1001}) {
            EmbeddedChannel ch = new EmbeddedChannel(new RelayFrameDecoder(FramePolicy.RELAY_CONTROL));
            ByteBuf b = header(FrameType.PING.code(), size);
            b.writeZero(size);
            assertThatThrownBy(() -> ch.writeInbound(b)).hasCauseInstanceOf(ProtocolViolation.class);
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void framesOfTheOtherDirectionAreRefused() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        ByteBuf b = header(FrameType.RECV_DATAGRAM.code(), 33);
        b.writeZero(33);
        assertThatThrownBy(() -> ch.writeInbound(b)).hasCauseInstanceOf(ProtocolViolation.class);
    }

    @Test
    void afterAViolationFurtherBytesAreDiscarded() {
        EmbeddedChannel ch = channel(FramePolicy.RELAY_CONTROL);
        assertThatThrownBy(() -> ch.writeInbound(header(FrameType.SEND_DATAGRAM.code(), 0xFFFF_FFFFL)))
                .hasCauseInstanceOf(ProtocolViolation.class);
        ByteBuf ping = Unpooled.buffer();
        FrameCodec.encode(new Frame.Ping(bytes(8, 1)), ping);
        ch.writeInbound(ping);
        assertThat((Object) ch.readInbound()).isNull();
        assertThat(ping.refCnt()).isZero();
    }

    @Test
    void policyCanBeSwitchedBetweenFrames() {
        RelayFrameDecoder decoder = new RelayFrameDecoder(FramePolicy.RELAY_AWAITING_AUTH);
        channel = new EmbeddedChannel(decoder);
        decoder.policy(FramePolicy.RELAY_CONTROL);
        ByteBuf ping = Unpooled.wrappedBuffer(HexFormat.of().parseHex("2000000008" + "0102030405060708"));
        channel.writeInbound(ping);
        assertThat((Object) channel.readInbound()).isInstanceOf(Frame.Ping.class);
    }
}
