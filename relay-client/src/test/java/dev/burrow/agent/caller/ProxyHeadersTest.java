package dev.burrow.agent.caller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.haproxy.HAProxyCommand;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyMessageDecoder;
import io.netty.handler.codec.haproxy.HAProxyMessageEncoder;
import io.netty.handler.codec.haproxy.HAProxyProxiedProtocol;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The PROXY v2 header: golden bytes, and Netty's decoder reads back every field and TLV. */
class ProxyHeadersTest {
    static final NodeKey KEY = NodeKey.of(filled(32, (byte) 7));

    static byte[] filled(int n, byte b) {
        byte[] a = new byte[n];
        Arrays.fill(a, b);
        return a;
    }

    static Caller caller(boolean caIssued) {
        return new Caller(
                "127.0.0.1:40000",
                KEY.nodeId(),
                caIssued ? "bob" : null,
                caIssued ? List.of("ops", "dev") : List.of(),
                caIssued,
                "db",
                "relay",
                "127.0.0.1:6379",
                "100.64.0.1",
                "2026-11-22T00:00:00Z");
    }

    static ByteBuf encode(HAProxyMessage m) {
        EmbeddedChannel ch = new EmbeddedChannel(HAProxyMessageEncoder.INSTANCE);
        ch.writeOutbound(m);
        ByteBuf out = ch.readOutbound();
        ch.finishAndReleaseAll();
        return out;
    }

    static HAProxyMessage decode(ByteBuf bytes) {
        EmbeddedChannel ch = new EmbeddedChannel(new HAProxyMessageDecoder());
        ch.writeInbound(bytes);
        HAProxyMessage m = ch.readInbound();
        ch.finishAndReleaseAll();
        return m;
    }

    @Test
    void goldenBytesForAnIpv4TargetAndASelfSignedPeer() throws Exception {
        HAProxyMessage m = ProxyHeaders.message(
                caller(false),
                new InetSocketAddress("127.0.0.1", 40000),
                new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 6379),
                InetAddress.getByName("100.64.0.1"),
                UnpooledByteBufAllocator.DEFAULT);
        ByteBuf out = encode(m);
        try {
            String node = ByteBufUtil.hexDump(KEY.nodeId().getBytes(StandardCharsets.US_ASCII));
            String expected = "0d0a0d0a000d0a515549540a" // signature
                    + "21" + "11" // v2 PROXY, TCP over IPv4
                    + String.format("%04x", 12 + 3 + KEY.nodeId().length() + 3 + 2 + 3 + 5)
                    + "64400001" + "7f000001" + "9c40" + "18eb" // 100.64.0.1 -> 127.0.0.1, 40000 -> 6379
                    + "e0" + String.format("%04x", KEY.nodeId().length()) + node
                    + "e3" + "0002" + "6462" // db
                    + "e4" + "0005" + "72656c6179"; // relay
            assertThat(ByteBufUtil.hexDump(out)).isEqualTo(expected);
        } finally {
            out.release();
        }
    }

    @Test
    void roundTripThroughNettysDecoderIpv4WithNameAndTags() throws Exception {
        InetAddress mapped = PeerAddresses.ipv4(KEY);
        HAProxyMessage m = decode(encode(ProxyHeaders.message(
                caller(true),
                new InetSocketAddress("127.0.0.1", 40000),
                new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 6379),
                mapped,
                UnpooledByteBufAllocator.DEFAULT)));
        try {
            assertThat(m.command()).isEqualTo(HAProxyCommand.PROXY);
            assertThat(m.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP4);
            assertThat(m.sourceAddress()).isEqualTo(mapped.getHostAddress());
            assertThat(m.sourcePort()).isEqualTo(40000);
            assertThat(m.destinationAddress()).isEqualTo("127.0.0.1");
            assertThat(m.destinationPort()).isEqualTo(6379);
            assertThat(tlvs(m))
                    .containsExactly(
                            Map.entry(0xE0, KEY.nodeId()),
                            Map.entry(0xE1, "bob"),
                            Map.entry(0xE2, "dev,ops"),
                            Map.entry(0xE3, "db"),
                            Map.entry(0xE4, "relay"));
        } finally {
            m.release();
        }
    }

    @Test
    void ipv6TargetsGetTheUlaMapping() throws Exception {
        InetAddress mapped = PeerAddresses.forPeer(KEY, InetAddress.getByName("::1"));
        assertThat(mapped.getHostAddress()).startsWith("fd62:7572:726f:");
        HAProxyMessage m = decode(encode(ProxyHeaders.message(
                caller(false),
                new InetSocketAddress("::1", 40000),
                new InetSocketAddress(InetAddress.getByName("::1"), 6379),
                mapped,
                UnpooledByteBufAllocator.DEFAULT)));
        try {
            assertThat(m.proxiedProtocol()).isEqualTo(HAProxyProxiedProtocol.TCP6);
            assertThat(InetAddress.getByName(m.sourceAddress())).isEqualTo(mapped);
            assertThat(tlvs(m)).doesNotContainKeys(0xE1, 0xE2);
        } finally {
            m.release();
        }
    }

    @Test
    void aFamilyMismatchIsRefused() throws Exception {
        assertThatThrownBy(() -> ProxyHeaders.message(
                        caller(true),
                        new InetSocketAddress("127.0.0.1", 1),
                        new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 2),
                        InetAddress.getByName("::1"),
                        UnpooledByteBufAllocator.DEFAULT))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void mappedAddressesAreStablePerPeerAndInsideTheirPrefixes() {
        NodeKey other = NodeKey.of(filled(32, (byte) 8));
        assertThat(PeerAddresses.ipv4(KEY)).isEqualTo(PeerAddresses.ipv4(KEY));
        assertThat(PeerAddresses.ipv4(KEY)).isNotEqualTo(PeerAddresses.ipv4(other));
        for (NodeKey k : List.of(KEY, other)) {
            byte[] a = PeerAddresses.ipv4(k).getAddress();
            assertThat(a[0] & 0xff).isEqualTo(100);
            assertThat(a[1] & 0xc0).isEqualTo(64); // 100.64.0.0/10
        }
        assertThat(PeerAddresses.ipv6(KEY)).isNotEqualTo(PeerAddresses.ipv6(other));
    }

    static Map<Integer, String> tlvs(HAProxyMessage m) {
        Map<Integer, String> out = new LinkedHashMap<>();
        for (HAProxyTLV t : m.tlvs()) {
            out.put(t.typeByteValue() & 0xff, t.content().toString(StandardCharsets.UTF_8));
        }
        return out;
    }
}
