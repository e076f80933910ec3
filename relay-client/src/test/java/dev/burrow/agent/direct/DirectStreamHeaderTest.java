package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSession;
import org.junit.jupiter.api.Test;

class DirectStreamHeaderTest {
    private static final NodeKey PEER = NodeIdentity.ephemeral("peer").nodeKey();
    /** Stands in for the QUIC connection's TLS session (the acceptor only passes it on). */
    private static final SSLSession SESSION = newSession();

    private static SSLSession newSession() {
        try {
            return SSLContext.getDefault().createSSLEngine().getSession();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void golden() {
        ByteBuf b = DirectStreamHeader.encode("web", UnpooledByteBufAllocator.DEFAULT);
        assertThat(ByteBufUtil.hexDump(b)).isEqualTo("03776562");
        b.release();
    }

    @Test
    void roundTripAndPartialInput() {
        for (String s : List.of("a", "web", "db.primary-1_x", "a".repeat(63))) {
            ByteBuf b = DirectStreamHeader.encode(s, UnpooledByteBufAllocator.DEFAULT);
            ByteBuf partial = b.retainedSlice(0, b.readableBytes() - 1);
            assertThat(DirectStreamHeader.decode(partial)).isNull();
            assertThat(partial.readerIndex()).isZero();
            partial.release();
            assertThat(DirectStreamHeader.decode(b)).isEqualTo(s);
            assertThat(b.isReadable()).isFalse();
            b.release();
        }
    }

    @Test
    void invalidHeadersAreRefused() {
        assertThatThrownBy(() -> DirectStreamHeader.decode(Unpooled.wrappedBuffer(new byte[] {0})))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirectStreamHeader.decode(Unpooled.wrappedBuffer(new byte[] {64})))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirectStreamHeader.decode(Unpooled.wrappedBuffer(new byte[] {(byte) 0xFF})))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirectStreamHeader.decode(Unpooled.wrappedBuffer(new byte[] {2, 'W', 'x'})))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirectStreamHeader.decode(Unpooled.wrappedBuffer(new byte[] {1, '-'})))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> DirectStreamHeader.encode("Bad", UnpooledByteBufAllocator.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** The acceptor hands the stream to the gate with the QUIC-verified peer and passes the bytes after the header on. */
    @Test
    void acceptorHandsOverWithTheRest() {
        List<InboundStream> got = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new DirectStreamAcceptor(PEER, SESSION, got::add));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {3, 'w'}));
        assertThat(got).isEmpty();
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {'e', 'b', 0x16, 0x03}));
        assertThat(got).hasSize(1);
        assertThat(got.get(0).claimedPeer()).isEqualTo(PEER);
        assertThat(got.get(0).announcedService()).isEqualTo("web");
        assertThat(got.get(0).path()).isEqualTo(DirectPath.NAME);
        assertThat(got.get(0).pathSession()).isSameAs(SESSION);
        ByteBuf rest = ch.readInbound();
        assertThat(ByteBufUtil.hexDump(rest)).isEqualTo("1603");
        rest.release();
        assertThat(ch.pipeline().get(DirectStreamAcceptor.class)).isNull();
        ch.finishAndReleaseAll();
    }

    @Test
    void acceptorClosesOnABadHeader() {
        List<InboundStream> got = new ArrayList<>();
        EmbeddedChannel ch = new EmbeddedChannel(new DirectStreamAcceptor(PEER, SESSION, got::add));
        ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {0, 1, 2}));
        assertThat(got).isEmpty();
        assertThat(ch.isOpen()).isFalse();
        ch.finishAndReleaseAll();
    }
}
