package dev.burrow.relay.server.ingress;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

class ProxyHeadersTest {

    @Test
    void goldenIpv4Header() {
        ByteBuf b =
                ProxyHeaders.v2(new InetSocketAddress("127.0.0.1", 40000), new InetSocketAddress("127.0.0.1", 20001));
        try {
            assertThat(ByteBufUtil.hexDump(b))
                    .isEqualTo("0d0a0d0a000d0a515549540a" + "21" + "11" + "000c" + "7f000001" + "7f000001" + "9c40"
                            + "4e21");
        } finally {
            b.release();
        }
    }

    @Test
    void anIpv4ClientOnAnIpv6PortIsSentAsMappedIpv6() {
        ByteBuf b =
                ProxyHeaders.v2(new InetSocketAddress("203.0.113.9", 40000), new InetSocketAddress("2001:db8::1", 443));
        EmbeddedChannel dec = new EmbeddedChannel(new HAProxyMessageDecoder());
        dec.writeInbound(b);
        HAProxyMessage m = dec.readInbound();
        try {
            assertThat(m.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
            assertThat(m.sourceAddress()).isEqualTo("0:0:0:0:0:ffff:cb00:7109");
            assertThat(m.destinationPort()).isEqualTo(443);
        } finally {
            m.release();
            dec.finishAndReleaseAll();
        }
    }
}
