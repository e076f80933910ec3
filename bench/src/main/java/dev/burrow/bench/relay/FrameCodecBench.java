package dev.burrow.bench.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
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
 * The relay's per-datagram frame work without TLS or sockets: decode one SEND_DATAGRAM of
 * {@code size} payload bytes and encode the RECV_DATAGRAM that forwards it.
 * <ul>
 *   <li>{@code codec}: the pure functions ({@link FrameCodec#decodeClientFrame}, {@link FrameCodec#encodeHeader});</li>
 *   <li>{@code pipeline}: the Netty handlers in an {@link EmbeddedChannel} ({@link RelayFrameDecoder} with the
 *       authenticated control policy in, {@link RelayFrameEncoder} out), as the relay's pipeline runs them.</li>
 * </ul>
 * Run: {@code bench/relay-bench.sh} with {@code PARTS=codec}, or
 * {@code java -cp <bench classpath> org.openjdk.jmh.Main FrameCodecBench}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FrameCodecBench {
    @Param({"1400"})
    int size;

    private final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    private ByteBuf wire; // one encoded SEND_DATAGRAM, header included
    private NodeKey source;
    private EmbeddedChannel channel;

    @Setup(Level.Trial)
    public void setUp() {
        byte[] key = new byte[NodeKey.LENGTH];
        ThreadLocalRandom.current().nextBytes(key);
        NodeKey destination = NodeKey.of(key);
        ThreadLocalRandom.current().nextBytes(key);
        source = NodeKey.of(key);
        byte[] payload = new byte[size];
        ThreadLocalRandom.current().nextBytes(payload);
        ClientFrame.SendDatagram frame = new ClientFrame.SendDatagram(
                destination, alloc.directBuffer(size).writeBytes(payload));
        wire = alloc.directBuffer(FrameCodec.encodedLength(frame));
        FrameCodec.encode(frame, wire);
        frame.payload().release();
        channel = new EmbeddedChannel(new RelayFrameDecoder(FramePolicy.RELAY_CONTROL), RelayFrameEncoder.INSTANCE);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        channel.finishAndReleaseAll();
        wire.release();
    }

    @Benchmark
    public int codec() {
        ByteBuf in = wire.retainedDuplicate();
        try {
            in.skipBytes(5); // the decoder has found the header
            ClientFrame.SendDatagram d =
                    (ClientFrame.SendDatagram) FrameCodec.decodeClientFrame(FrameType.SEND_DATAGRAM, in);
            RelayFrame.RecvDatagram out = new RelayFrame.RecvDatagram(source, d.payload());
            ByteBuf header = alloc.directBuffer(5 + NodeKey.LENGTH);
            FrameCodec.encodeHeader(out, header);
            int n = header.readableBytes() + out.payload().readableBytes();
            header.release();
            out.payload().release();
            return n;
        } finally {
            in.release();
        }
    }

    @Benchmark
    public int pipeline() {
        channel.writeInbound(wire.retainedDuplicate());
        ClientFrame.SendDatagram d = channel.readInbound();
        channel.writeOutbound(new RelayFrame.RecvDatagram(source, d.payload()));
        int n = 0;
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf b = (ByteBuf) o;
            n += b.readableBytes();
            b.release();
        }
        return n;
    }
}
