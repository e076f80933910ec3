package dev.burrow.agent.ingress;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import java.util.List;

/**
 * Finds the one PROXY protocol v2 header at the start of an ingress circuit and hands it on as an
 * {@link HAProxyMessage} (parsed by Netty's HAProxy codec on exactly the header's bytes), then
 * leaves the pipeline: every later byte passes through untouched. Checks, before buffering: the
 * 12-byte v2 signature, version 2, and a header length within {@link #MAX_HEADER}.
 */
final class ProxyHeaderFramer extends ByteToMessageDecoder {
    /** Fixed part of a v2 header: signature[12], version/command, family/protocol, u16 length. */
    static final int FIXED = 16;
    /** Largest header accepted: IPv6 addresses (36 bytes) plus a little room; the relay sends no TLVs. */
    static final int MAX_HEADER = FIXED + 36 + 256;
    private static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

    private boolean done;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (done) {
            return;
        }
        int have = in.readableBytes();
        int start = in.readerIndex();
        for (int i = 0; i < Math.min(have, SIGNATURE.length); i++) {
            if (in.getByte(start + i) != SIGNATURE[i]) {
                throw new HAProxyProtocolException("not a PROXY protocol v2 header");
            }
        }
        if (have < FIXED) {
            return;
        }
        if ((in.getUnsignedByte(start + 12) & 0xF0) != 0x20) {
            throw new HAProxyProtocolException("not PROXY protocol version 2");
        }
        int total = FIXED + in.getUnsignedShort(start + 14);
        if (total > MAX_HEADER) {
            throw new HAProxyProtocolException("PROXY header of " + total + " bytes is too long");
        }
        if (have < total) {
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
        } catch (io.netty.handler.codec.DecoderException e) {
            throw e.getCause() instanceof HAProxyProtocolException p ? p : new HAProxyProtocolException(e.getMessage());
        } finally {
            parser.finishAndReleaseAll();
        }
        ctx.pipeline().remove(this); // the bytes after the header go on as they are
    }
}
