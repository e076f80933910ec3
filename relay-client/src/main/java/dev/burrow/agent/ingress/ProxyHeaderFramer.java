package dev.burrow.agent.ingress;

import dev.burrow.protocol.ProxyHeaderV2;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import java.util.List;

/**
 * Finds the one PROXY protocol v2 header at the start of an ingress circuit and hands it on as an
 * {@link HAProxyMessage} (parsed by Netty's HAProxy codec on exactly the header's bytes), then
 * leaves the pipeline: every later byte passes through untouched. Checks, before buffering
 * ({@link ProxyHeaderV2#headerLength}): the 12-byte v2 signature, version 2, and a header length
 * within {@link #MAX_HEADER}.
 */
final class ProxyHeaderFramer extends ByteToMessageDecoder {
    /** Fixed part of a v2 header: signature[12], version/command, family/protocol, u16 length. */
    static final int FIXED = ProxyHeaderV2.FIXED;
    /** Largest header accepted: IPv6 addresses (36 bytes) plus a little room; the relay sends no TLVs. */
    static final int MAX_HEADER = FIXED + 36 + 256;

    private boolean done;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            return;
        }
        int total = ProxyHeaderV2.headerLength(in, MAX_HEADER);
        if (total < 0 || in.readableBytes() < total) {
            return;
        }
        EmbeddedChannel parser = new EmbeddedChannel(new HAProxyMessageDecoder());
        try {
            parser.writeInbound(in.readRetainedSlice(total));
            HAProxyMessage m = parser.readInbound();
            if (m == null) {
                throw new HAProxyProtocolException("PROXY header did not parse");
            }
            done = true;
            out.add(m);
        } catch (DecoderException e) {
            throw e.getCause() instanceof HAProxyProtocolException p ? p : new HAProxyProtocolException(e.getMessage());
        } finally {
            parser.finishAndReleaseAll();
        }
        ctx.pipeline().remove(this); // the bytes after the header go on as they are
    }
}
