package dev.burrow.agent.disco;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.disco.DiscoMessage.NatInfo;
import dev.burrow.agent.disco.DiscoMessage.NatMapping;
import java.net.InetSocketAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** NAT_INFO (0x04): golden bytes, round trips, and what a hostile or later peer may send. */
class NatInfoCodecTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void goldenWithoutPortMapping() throws Exception {
        byte[] b = DiscoCodec.encodeMessage(new NatInfo(NatMapping.ENDPOINT_DEPENDENT, 0, null));
        assertThat(HEX.formatHex(b)).isEqualTo("040200");
        assertThat(DiscoCodec.decodeMessage(b)).isEqualTo(new NatInfo(NatMapping.ENDPOINT_DEPENDENT, 0, null));
    }

    @Test
    void goldenWithPcpMapping() throws Exception {
        NatInfo n = new NatInfo(NatMapping.ENDPOINT_INDEPENDENT, 1, new InetSocketAddress("203.0.113.10", 41641));
        byte[] b = DiscoCodec.encodeMessage(n);
        assertThat(HEX.formatHex(b)).isEqualTo("040101" + "00000000000000000000ffffcb00710a" + "a2a9");
        assertThat(DiscoCodec.decodeMessage(b)).isEqualTo(n);
    }

    @Test
    void everyMappingRoundTrips() throws Exception {
        for (NatMapping m : NatMapping.values()) {
            assertThat(DiscoCodec.decodeMessage(DiscoCodec.encodeMessage(new NatInfo(m, 0, null))))
                    .isEqualTo(new NatInfo(m, 0, null));
        }
    }

    @Test
    void laterCodesReadAsUnknownAndTrailingBytesAreIgnored() throws Exception {
        assertThat(DiscoCodec.decodeMessage(HEX.parseHex("04ff00")))
                .isEqualTo(new NatInfo(NatMapping.UNKNOWN, 0, null));
        assertThat(DiscoCodec.decodeMessage(HEX.parseHex("040109" + "00".repeat(18))))
                .isEqualTo(new NatInfo(NatMapping.ENDPOINT_INDEPENDENT, 0, null));
        assertThat(DiscoCodec.decodeMessage(HEX.parseHex("040200abcdef")))
                .isEqualTo(new NatInfo(NatMapping.ENDPOINT_DEPENDENT, 0, null));
    }

    @Test
    void malformedIsRefused() {
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(HEX.parseHex("0401")))
                .isInstanceOf(DiscoDecodeException.class)
                .hasMessageContaining("short NAT_INFO");
        assertThatThrownBy(() -> DiscoCodec.decodeMessage(HEX.parseHex("040102" + "00".repeat(10))))
                .isInstanceOf(DiscoDecodeException.class)
                .hasMessageContaining("port-mapped endpoint");
        // a mapped endpoint with port 0
        assertThatThrownBy(
                        () -> DiscoCodec.decodeMessage(HEX.parseHex("040103" + "00000000000000000000ffffcb00710a0000")))
                .isInstanceOf(DiscoDecodeException.class);
    }

    @Test
    void constructorRejectsInconsistentPortMapping() {
        assertThatThrownBy(() -> new NatInfo(NatMapping.UNKNOWN, 1, null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NatInfo(NatMapping.UNKNOWN, 0, new InetSocketAddress("203.0.113.1", 1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new NatInfo(NatMapping.UNKNOWN, 4, new InetSocketAddress("203.0.113.1", 1)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
