package dev.burrow.relay.server.ingress;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProtocolVersion;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The PROXY protocol v2 header the relay puts first on an ingress circuit: command PROXY, TCP over
 * IPv4 or IPv6, source = the public client, destination = the relay's public port. No TLVs. Encoded
 * with Netty's HAProxy codec.
 */
final class ProxyHeaders {
    private ProxyHeaders() {}

    static ByteBuf v2(InetSocketAddress client, InetSocketAddress publicPort) {
        InetAddress src = client.getAddress();
        InetAddress dst = publicPort.getAddress();
        boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
        HAProxyMessage msg = new HAProxyMessage(HAProxyProtocolVersion.V2, HAProxyCommand.PROXY,
                v4 ? HAProxyProxiedProtocol.TCP4 : HAProxyProxiedProtocol.TCP6,
                v4 ? src.getHostAddress() : v6(src), v4 ? dst.getHostAddress() : v6(dst), client.getPort(), publicPort.getPort());
        EmbeddedChannel enc = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        try {
            enc.writeOutbound(msg); // the encoder releases the message
            return enc.readOutbound();
        } finally {
            enc.finishAndReleaseAll();
        }
    }

    /** An IPv6 literal; an IPv4 address as {@code ::ffff:a.b.c.d} when the other end is IPv6. */
    private static String v6(InetAddress a) {
        if (a instanceof Inet4Address) {
            return "::ffff:" + a.getHostAddress();
        }
        String s = a.getHostAddress();
        int zone = s.indexOf('%');
        return zone < 0 ? s : s.substring(0, zone);
    }
}
