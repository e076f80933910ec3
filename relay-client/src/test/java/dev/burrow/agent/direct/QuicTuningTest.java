package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QuicTuningTest {
    @Test
    void noOverridesGiveTheDefaults() {
        assertThat(QuicTuning.fromEnvironment(Map.of())).isEqualTo(QuicTuning.DEFAULT);
    }

    @Test
    void byDefaultDatagramsGrowByPathMtuDiscoveryToWhatAStandardLinkCarries() {
        // 1452 + 8 (UDP) + 40 (IPv6) = 1500: never more than an Ethernet link, and only once probed
        assertThat(QuicTuning.DEFAULT.maxUdpPayload()).isEqualTo(1452);
        assertThat(QuicTuning.DEFAULT.discoverPmtu()).isTrue();
        assertThat(QuicTuning.DEFAULT.gsoSegments()).isZero();
        assertThat(QuicTuning.fromEnvironment(Map.of("BURROW_QUIC_PMTUD", "off", "BURROW_QUIC_UDP_PAYLOAD", "1200")))
                .extracting(QuicTuning::maxUdpPayload, QuicTuning::discoverPmtu)
                .containsExactly(1200, false);
    }

    @Test
    void overridesAreRead() {
        QuicTuning t = QuicTuning.fromEnvironment(Map.of(
                "BURROW_QUIC_CC", "bbr",
                "BURROW_QUIC_UDP_PAYLOAD", "1452",
                "BURROW_QUIC_PMTUD", "on",
                "BURROW_QUIC_CONN_WINDOW", "67108864",
                "BURROW_QUIC_STREAM_WINDOW", "8388608",
                "BURROW_QUIC_GSO", "16"));
        assertThat(t.congestionControl()).isEqualTo(QuicCongestionControlAlgorithm.BBR);
        assertThat(t.maxUdpPayload()).isEqualTo(1452);
        assertThat(t.discoverPmtu()).isTrue();
        assertThat(t.connectionWindow()).isEqualTo(64L << 20);
        assertThat(t.streamWindow()).isEqualTo(8L << 20);
        assertThat(t.gsoSegments()).isEqualTo(16);
        assertThat(t.toString()).contains("cc=bbr", "udp-payload=1452", "gso=16");
    }

    @Test
    void badValuesAreRefusedWithTheSettingNamed() {
        for (Map<String, String> bad : new Map[] {
            Map.of("BURROW_QUIC_CC", "vegas"),
            Map.of("BURROW_QUIC_UDP_PAYLOAD", "1000"),
            Map.of("BURROW_QUIC_UDP_PAYLOAD", "70000"),
            Map.of("BURROW_QUIC_UDP_PAYLOAD", "big"),
            Map.of("BURROW_QUIC_PMTUD", "maybe"),
            Map.of("BURROW_QUIC_STREAM_WINDOW", "1024"),
            Map.of("BURROW_QUIC_CONN_WINDOW", "1048576", "BURROW_QUIC_STREAM_WINDOW", "2097152"),
            Map.of("BURROW_QUIC_GSO", "-1"),
            Map.of("BURROW_QUIC_GSO", "65")
        }) {
            assertThatThrownBy(() -> QuicTuning.fromEnvironment(bad))
                    .as("%s", bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageStartingWith("bad BURROW_QUIC_* setting");
        }
    }
}
