package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeKey;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A mesh link as an EmbeddedChannel handler: direction rules, bounded queues, link-down. */
class MeshLinkTest {
    static final String KEY = MeshHandshakeTest.KEY;
    static final NodeKey A = NodeKey.of(MeshCodecTest.filled(32, 0xAA));
    static final NodeKey B = NodeKey.of(MeshCodecTest.filled(32, 0xBB));

    static MeshLink link(FakeNode node, EmbeddedChannel ch, boolean outbound) {
        MeshLink l = new MeshLink(node, ch, outbound, "peer", null);
        ch.pipeline().addLast(l);
        return l;
    }

    @Test
    void anOutboundLinkLearnsPresenceAndRejectsTrafficMeantForAcceptors() throws Exception {
        FakeNode node = new FakeNode(new byte[16], KEY);
        EmbeddedChannel ch = new EmbeddedChannel();
        link(node, ch, true);
        ch.writeInbound(new MeshFrame.Present(List.of(A, B)));
        ch.writeInbound(new MeshFrame.Gone(List.of(A)));
        assertThat(node.added).containsExactly(A, B);
        assertThat(node.removed).containsExactly(A);
        ByteBuf p = Unpooled.wrappedBuffer(new byte[] {1});
        ch.writeInbound(new MeshFrame.Datagram(
                A, B, p)); // only acceptors take datagrams: a forwarded one is never forwarded again
        assertThat(p.refCnt()).isZero();
        assertThat(node.count(MeshEvent.PROTOCOL_ERROR)).isEqualTo(1);
        assertThat(ch.isActive()).isFalse();
        assertThat(node.linksDown).isEqualTo(1);
    }

    @Test
    void anInboundLinkDeliversDatagramsAndRefusesPresence() throws Exception {
        FakeNode node = new FakeNode(new byte[16], KEY);
        EmbeddedChannel ch = new EmbeddedChannel();
        link(node, ch, false);
        ch.writeInbound(new MeshFrame.Datagram(A, B, Unpooled.wrappedBuffer(new byte[] {1})));
        ch.writeInbound(new MeshFrame.CircuitRequest(1, A, B, "ssh"));
        assertThat(node.received).hasSize(2);
        ch.writeInbound(new MeshFrame.Present(List.of(A)));
        assertThat(node.added).isEmpty();
        assertThat(ch.isActive()).isFalse();
    }

    @Test
    void namesTravelOnlyFromAcceptorToDialer() throws Exception {
        FakeNode node = new FakeNode(new byte[16], KEY);
        EmbeddedChannel out = new EmbeddedChannel();
        link(node, out, true);
        out.writeInbound(new MeshFrame.Present(List.of(A)));
        out.writeInbound(new MeshFrame.Names(List.of(new MeshFrame.Named(A, "alice"))));
        assertThat(node.names).containsExactly(new MeshFrame.Named(A, "alice"));
        assertThat(out.isActive()).isTrue();
        out.finishAndReleaseAll();

        FakeNode acceptor = new FakeNode(new byte[16], KEY);
        EmbeddedChannel in = new EmbeddedChannel();
        link(acceptor, in, false);
        in.writeInbound(new MeshFrame.Names(List.of(new MeshFrame.Named(A, "alice")))); // sent the wrong way
        assertThat(acceptor.names).isEmpty();
        assertThat(acceptor.count(MeshEvent.PROTOCOL_ERROR)).isEqualTo(1);
        assertThat(in.isActive()).isFalse();
    }

    @Test
    void aStalledSiblingCostsOneBoundedQueueAndNeverBlocksTheSender() throws Exception {
        FakeNode node = new FakeNode(new byte[16], KEY);
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1, 2));
        MeshLink l = link(node, ch, true);
        // make the channel unwritable: one pending write above the high-water mark
        ch.write(Unpooled.wrappedBuffer(new byte[64]));
        assertThat(ch.isWritable()).isFalse();
        List<ByteBuf> payloads = new ArrayList<>();
        int n = MeshLink.DATAGRAM_QUEUE + 10;
        for (int i = 0; i < n; i++) {
            ByteBuf p = Unpooled.wrappedBuffer(new byte[] {(byte) i});
            payloads.add(p);
            l.enqueueDatagram(new MeshFrame.Datagram(A, B, p)); // returns at once, whatever the sibling does
        }
        ch.runPendingTasks();
        assertThat(node.count(MeshEvent.DATAGRAM_QUEUE_FULL)).isEqualTo(10);
        assertThat(payloads.subList(0, 10)).allMatch(p -> p.refCnt() == 0); // the oldest went first
        // the sibling reads again: the queue drains
        ch.flush();
        ch.runPendingTasks();
        Object o;
        int written = 0;
        while ((o = ch.readOutbound()) != null) {
            if (o instanceof MeshFrame.Datagram) {
                written++;
            }
            ReferenceCountUtil.release(o);
        }
        ch.pipeline().fireChannelWritabilityChanged();
        ch.runPendingTasks();
        while ((o = ch.readOutbound()) != null) {
            if (o instanceof MeshFrame.Datagram) {
                written++;
            }
            ReferenceCountUtil.release(o);
        }
        assertThat(written).isEqualTo(MeshLink.DATAGRAM_QUEUE);
        ch.close();
        assertThat(payloads).allMatch(p -> p.refCnt() == 0);
    }

    @Test
    void closingReleasesEverythingQueued() throws Exception {
        FakeNode node = new FakeNode(new byte[16], KEY);
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(1, 2));
        MeshLink l = link(node, ch, true);
        ch.write(Unpooled.wrappedBuffer(new byte[64]));
        ByteBuf p = Unpooled.wrappedBuffer(new byte[] {1});
        l.enqueueDatagram(new MeshFrame.Datagram(A, B, p));
        ch.close();
        assertThat(p.refCnt()).isZero();
        ByteBuf late = Unpooled.wrappedBuffer(new byte[] {2});
        l.enqueueDatagram(new MeshFrame.Datagram(A, B, late));
        assertThat(late.refCnt()).isZero();
        assertThat(l.enqueueControl(new MeshFrame.Gone(List.of(A)))).isFalse();
        ch.finishAndReleaseAll();
        assertThat(Arrays.asList(node.linksDown)).containsExactly(1);
    }
}
