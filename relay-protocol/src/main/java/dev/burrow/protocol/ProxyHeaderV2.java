package dev.burrow.protocol;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolException;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The PROXY protocol v2 header, the one way both ends build and frame it, on Netty's HAProxy codec
 * ({@link HAProxyMessage}, {@link HAProxyMessageEncoder}): the relay puts one first on an ingress
 * circuit (the public client's address, no TLVs), the agent writes one to a target that opted in (the
 * caller's mapped address and identity TLVs), and the agent finds the relay's at the start of an
 * ingress circuit ({@link #headerLength}).
 */
public final class ProxyHeaderV2 {
    /** The 12-byte v2 signature. */
    static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
    /** Fixed part of a v2 header: signature[12], version/command, family/protocol, u16 length. */
    public static final int FIXED = 16;

    private ProxyHeaderV2() {}

    /**
     * Command PROXY, TCP. Both addresses in one family: IPv4 when both are IPv4, else IPv6 with an
     * IPv4 address written as {@code ::ffff:a.b.c.d} (and any IPv6 zone dropped). The message owns
     * {@code tlvs} (released with it, also when this throws).
     */
    public static HAProxyMessage message(
            InetSocketAddress source, InetSocketAddress destination, List<HAProxyTLV> tlvs) {
        try {
            InetAddress src = source.getAddress();
            InetAddress dst = destination.getAddress();
            boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
            return new HAProxyMessage(
                    HAProxyProtocolVersion.V2,
                    HAProxyCommand.PROXY,
                    v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                    v4 ? src.getHostAddress() : v6(src),
                    v4 ? dst.getHostAddress() : v6(dst),
                    source.getPort(),
                    destination.getPort(),
                    tlvs);
        } catch (RuntimeException e) {
            tlvs.forEach(HAProxyTLV::release);
            throw e;
        }
    }

    /** {@code message} as bytes (the message is released). */
    public static ByteBuf encode(HAProxyMessage message) {
        EmbeddedChannel enc = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        try {
            enc.writeOutbound(message); // the encoder releases the message
            return enc.readOutbound();
        } finally {
            enc.finishAndReleaseAll();
        }
    }

    /**
     * The length of the v2 header at the start of {@code in} (nothing is read), or -1 while fewer than
     * {@link #FIXED} bytes are in. Checks, before anything is buffered: the signature (as far as it
     * has arrived), version 2, and a length within {@code maxHeader}.
     *
     * @throws HAProxyProtocolException when the bytes are not such a header
     */
    public static int headerLength(ByteBuf in, int maxHeader) {
        int have = in.readableBytes();
        int start = in.readerIndex();
        for (int i = 0; i < Math.min(have, SIGNATURE.length); i++) {
            if (in.getByte(start + i) != SIGNATURE[i]) {
                throw new HAProxyProtocolException("not a PROXY protocol v2 header");
            }
        }
        if (have < FIXED) {
            return -1;
        }
        if ((in.getUnsignedByte(start + 12) & 0xF0) != 0x20) {
            throw new HAProxyProtocolException("not PROXY protocol version 2");
        }
        int total = FIXED + in.getUnsignedShort(start + 14);
        if (total > maxHeader) {
            throw new HAProxyProtocolException("PROXY header of " + total + " bytes is too long");
        }
        return total;
    }

    /** An IPv6 literal; an IPv4 address as {@code ::ffff:a.b.c.d}. */
    private static String v6(InetAddress a) {
        if (a instanceof Inet4Address) {
            return "::ffff:" + a.getHostAddress();
        }
        String s = a.getHostAddress();
        int zone = s.indexOf('%');
        return zone < 0 ? s : s.substring(0, zone);
    }
}
