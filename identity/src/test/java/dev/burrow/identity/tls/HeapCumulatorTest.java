package dev.burrow.identity.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.ssl.SslHandler;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class HeapCumulatorTest {
    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;

    private ByteBuf direct(byte[] bytes, int from, int to) {
        return alloc.directBuffer(to - from).writeBytes(bytes, from, to - from);
    }

    @Test
    void directReadsAreJoinedOnTheHeapInOrderAndReleased() {
        byte[] data = new byte[70_000];
        new Random(1).nextBytes(data);
        List<ByteBuf> reads = new ArrayList<>();
        ByteBuf cumulation = Unpooled.EMPTY_BUFFER;
        int[] cuts = {0, 100, 16_500, 16_501, 50_000, 70_000};
        for (int i = 1; i < cuts.length; i++) {
            ByteBuf read = direct(data, cuts[i - 1], cuts[i]);
            reads.add(read);
            cumulation = HeapCumulator.INSTANCE.cumulate(alloc, cumulation, read);
            assertThat(cumulation.hasArray()).isTrue();
        }
        byte[] joined = new byte[cumulation.readableBytes()];
        cumulation.readBytes(joined);
        assertThat(joined).isEqualTo(data);
        assertThat(reads).allSatisfy(r -> assertThat(r.refCnt()).isZero());
        assertThat(cumulation.release()).isTrue();
    }

    @Test
    void aHeapReadAfterAnEmptyCumulationIsTakenWithoutACopy() {
        ByteBuf read = alloc.heapBuffer(8).writeLong(42);
        ByteBuf cumulation = HeapCumulator.INSTANCE.cumulate(alloc, Unpooled.EMPTY_BUFFER, read);
        assertThat(cumulation).isSameAs(read);
        assertThat(cumulation.refCnt()).isEqualTo(1);
        assertThat(cumulation.readLong()).isEqualTo(42);
        cumulation.release();
    }

    @Test
    void recordsSplitAtEveryKindOfBoundaryDecryptIntact() throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        SslHandler clientTls =
                NodeTls.client(a, NodeVerifier.builder().build(), b.nodeKey()).newHandler(alloc);
        SslHandler serverTls = HeapCumulator.install(
                NodeTls.server(b, NodeVerifier.builder().pin(a.nodeKey()).build())
                        .newHandler(alloc));
        ByteArrayOutputStream received = new ByteArrayOutputStream();
        EmbeddedChannel client = new EmbeddedChannel(clientTls);
        EmbeddedChannel server = new EmbeddedChannel(serverTls, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf buf = (ByteBuf) msg;
                byte[] bytes = new byte[buf.readableBytes()];
                buf.readBytes(bytes);
                received.writeBytes(bytes);
                buf.release();
            }
        });
        for (int i = 0;
                i < 20
                        && !(clientTls.handshakeFuture().isDone()
                                && serverTls.handshakeFuture().isDone());
                i++) {
            pump(client, server);
            pump(server, client);
            client.runPendingTasks();
            server.runPendingTasks();
        }
        assertThat(serverTls.handshakeFuture().isSuccess()).isTrue();
        assertThat(clientTls.handshakeFuture().isSuccess()).isTrue();

        byte[] data = new byte[300_000];
        new Random(2).nextBytes(data);
        for (int off = 0; off < data.length; off += 20_000) {
            client.write(Unpooled.wrappedBuffer(data, off, Math.min(20_000, data.length - off)));
        }
        client.flush();
        ByteBuf wire = Unpooled.buffer();
        for (ByteBuf m; (m = client.readOutbound()) != null; ) {
            wire.writeBytes(m);
            m.release();
        }
        // Reads of 1 byte (a record header split), 5 (a header alone), odd sizes and 64 KiB.
        int[] sizes = {1, 4, 5, 3, 16_401, 7, 65_536, 999, 16_406};
        for (int i = 0; wire.isReadable(); i++) {
            int n = Math.min(sizes[i % sizes.length], wire.readableBytes());
            server.writeOneInbound(alloc.directBuffer(n).writeBytes(wire, n));
            server.pipeline().fireChannelReadComplete();
        }
        wire.release();

        assertThat(received.toByteArray()).isEqualTo(data);
        client.finishAndReleaseAll();
        server.finishAndReleaseAll();
    }

    private static void pump(EmbeddedChannel from, EmbeddedChannel to) {
        for (Object m; (m = from.readOutbound()) != null; ) {
            to.writeInbound(m);
        }
    }
}
