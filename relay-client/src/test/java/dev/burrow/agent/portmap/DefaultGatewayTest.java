package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

/** The default gateway read from a {@code /proc/net/route} table (addresses in little-endian hex). */
class DefaultGatewayTest {
    static final String HEADER =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

    @Test
    void theUpDefaultRouteWithTheLowestMetricWins() throws Exception {
        String table = HEADER
                + "eth0\t0001010A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n" // 10.1.1.0/24, on-link
                + "wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0\n" // default via 192.168.1.1, metric
                // 600
                + "eth0\t00000000\t0100010A\t0003\t0\t0\t100\t00000000\t0\t0\t0\n" // default via 10.1.0.1, metric 100
                + "eth1\t00000000\t0200010A\t0002\t0\t0\t0\t00000000\t0\t0\t0\n"; // not up
        assertThat(DefaultGateway.parse(table)).contains((java.net.Inet4Address) InetAddress.getByName("10.1.0.1"));
    }

    @Test
    void noDefaultRouteOrGarbageMeansNoGateway() {
        assertThat(DefaultGateway.parse(HEADER + "eth0\t0001010A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"))
                .isEmpty();
        assertThat(DefaultGateway.parse("")).isEmpty();
        assertThat(DefaultGateway.parse(HEADER + "eth0 zz yy xx 0 0 0 00000000\n"))
                .isEmpty();
    }
}
