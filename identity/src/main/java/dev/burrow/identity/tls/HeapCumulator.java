package dev.burrow.identity.tls;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.ssl.SslHandler;

/**
 * Gathers the reads an {@link SslHandler} decrypts in heap buffers, so the JDK's TLS engine runs
 * AES-GCM on arrays.
 *
 * <p>Why: Netty reads sockets into direct buffers and by default hands them to the engine as they
 * are; the JDK's TLS 1.3 engine decrypts a record where it lies, and its AES-GCM is markedly slower
 * on direct memory than on an array. Under load a read also rarely ends at a record boundary, so
 * Netty's default cumulator copies nearly every read behind the partial record left from the one
 * before anyway; this cumulator makes that one copy go to the heap. Measured in {@code
 * docs/benchmarks.md} ("End-to-end TLS: records decrypted from heap buffers"): the receiving
 * side's TLS costs about a third less CPU per byte.
 *
 * <p>Only for handlers of the JDK provider on connections that carry bulk data (the end-to-end TLS
 * between agents); the copy buys nothing on a connection of small messages.
 */
public final class HeapCumulator implements ByteToMessageDecoder.Cumulator {
    /** The one instance; it holds no state. */
    public static final HeapCumulator INSTANCE = new HeapCumulator();

    private HeapCumulator() {}

    /** Makes {@code handler} gather its input in heap buffers; returns it. */
    public static SslHandler install(SslHandler handler) {
        handler.setCumulator(INSTANCE);
        return handler;
    }

    @Override
    public ByteBuf cumulate(ByteBufAllocator alloc, ByteBuf cumulation, ByteBuf in) {
        if (cumulation == in) {
            in.release(); // the same buffer twice: keep one reference (as Netty's own cumulators do)
            return cumulation;
        }
        try {
            int required = in.readableBytes();
            if (!cumulation.isReadable() && in.hasArray() && in.isContiguous()) {
                cumulation.release();
                return in.retain(); // already on the heap: no copy (the finally drops the caller's reference)
            }
            if (cumulation.hasArray()
                    && !cumulation.isReadOnly()
                    && cumulation.refCnt() == 1
                    && required <= cumulation.maxFastWritableBytes()) {
                cumulation.writeBytes(in, in.readerIndex(), required);
                return cumulation;
            }
            int size = cumulation.readableBytes() + required;
            ByteBuf grown = alloc.heapBuffer(alloc.calculateNewCapacity(size, Integer.MAX_VALUE));
            try {
                grown.writeBytes(cumulation, cumulation.readerIndex(), cumulation.readableBytes());
                grown.writeBytes(in, in.readerIndex(), required);
            } catch (RuntimeException e) {
                grown.release();
                throw e;
            }
            cumulation.release();
            return grown;
        } finally {
            in.release();
        }
    }
}
