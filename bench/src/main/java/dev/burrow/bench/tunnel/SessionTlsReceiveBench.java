package dev.burrow.bench.tunnel;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.tls.HeapCumulator;
import dev.burrow.identity.tls.NodeTls;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The receiving end of a session's TLS without sockets: {@value #BYTES} bytes of TLS 1.3 records
 * (16 KiB of plaintext each, as a busy sender writes them) fed to the session's {@link SslHandler}
 * (JDK engine, node certificates, AES-128-GCM) in reads of {@code read} bytes, which end in the
 * middle of a record as socket reads of a loaded receiver do. Each read is copied into a fresh
 * direct buffer first, as the transport's read does.
 *
 * <p>{@code cumulator} is how the handler joins a read to the partial record left from the one
 * before: {@code merge} (Netty's default: copies the whole read behind the leftover) or {@code
 * composite} (adds the read as a component: only a record that spans two reads is copied) or {@code
 * heap} ({@link HeapCumulator}: copies every read into a heap buffer, where the JDK decrypts a record
 * faster; what the agents use).
 *
 * <p>Run: {@code java -cp <bench classpath> org.openjdk.jmh.Main SessionTlsReceiveBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 4, time = 2)
@Measurement(iterations = 6, time = 2)
@Fork(1)
public class SessionTlsReceiveBench {
    /** Plaintext per invocation. */
    static final int BYTES = 32 << 20;

    private static final int RECORD_PLAINTEXT = 16 << 10;

    @Param({"merge", "composite", "heap"})
    String cumulator;

    @Param({"65536", "262144"})
    int read;

    private final ByteBufAllocator alloc = ByteBufAllocator.DEFAULT;
    private EmbeddedChannel client;
    private EmbeddedChannel server;
    private ByteBuf wire;
    private long received;

    @Setup(Level.Trial)
    public void handshake() throws Exception {
        NodeIdentity a = NodeIdentity.ephemeral("a");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        SslHandler c =
                NodeTls.client(a, NodeVerifier.builder().build(), b.nodeKey()).newHandler(alloc);
        SslHandler s = NodeTls.server(b, NodeVerifier.builder().pin(a.nodeKey()).build())
                .newHandler(alloc);
        switch (cumulator) {
            case "composite" -> s.setCumulator(ByteToMessageDecoder.COMPOSITE_CUMULATOR);
            case "heap" -> HeapCumulator.install(s);
            default -> {}
        }
        client = new EmbeddedChannel(c);
        server = new EmbeddedChannel(s, new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ByteBuf b = (ByteBuf) msg;
                received += b.readableBytes();
                b.release();
            }
        });
        for (int i = 0;
                i < 50 && !(c.handshakeFuture().isDone() && s.handshakeFuture().isDone());
                i++) {
            pump(client, server);
            pump(server, client);
            client.runPendingTasks();
            server.runPendingTasks();
        }
        if (!c.handshakeFuture().isSuccess() || !s.handshakeFuture().isSuccess()) {
            throw new IllegalStateException("handshake: " + c.handshakeFuture().cause() + " / "
                    + s.handshakeFuture().cause());
        }
    }

    private static void pump(EmbeddedChannel from, EmbeddedChannel to) {
        for (Object m; (m = from.readOutbound()) != null; ) {
            to.writeInbound(m);
        }
    }

    @Setup(Level.Invocation)
    public void records() {
        byte[] chunk = new byte[RECORD_PLAINTEXT];
        ThreadLocalRandom.current().nextBytes(chunk);
        for (int done = 0; done < BYTES; done += RECORD_PLAINTEXT) {
            client.write(alloc.directBuffer(RECORD_PLAINTEXT).writeBytes(chunk));
        }
        client.flush();
        wire = alloc.directBuffer(BYTES + BYTES / 64);
        for (ByteBuf m; (m = client.readOutbound()) != null; ) {
            wire.writeBytes(m);
            m.release();
        }
    }

    @Benchmark
    public long receive() {
        received = 0;
        while (wire.isReadable()) {
            int n = Math.min(read, wire.readableBytes());
            ByteBuf r = alloc.ioBuffer(n);
            r.writeBytes(wire, n);
            server.writeOneInbound(r);
            server.pipeline().fireChannelReadComplete();
        }
        if (received != BYTES) {
            throw new IllegalStateException("received " + received + " of " + BYTES);
        }
        return received;
    }

    @TearDown(Level.Invocation)
    public void release() {
        wire.release();
    }

    @TearDown(Level.Trial)
    public void close() {
        client.finishAndReleaseAll();
        server.finishAndReleaseAll();
    }
}
