package dev.burrow.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** How endpoints are shown in logs and status: IPv6 in brackets, RFC 5952 text. */
class EndpointTest {
    @Test
    void formatsBothFamiliesUnambiguously() {
        assertThat(Endpoint.format(new InetSocketAddress("203.0.113.10", 41641)))
                .isEqualTo("203.0.113.10:41641");
        assertThat(Endpoint.format(new InetSocketAddress("2001:db8:1:0:0:0:0:10", 40033)))
                .isEqualTo("[2001:db8:1::10]:40033");
        assertThat(Endpoint.format(InetSocketAddress.createUnresolved("relay.example", 3478)))
                .isEqualTo("relay.example:3478");
        assertThat(new Endpoint(new InetSocketAddress("2001:db8::1", 5), Endpoint.Source.LOCAL).toString())
                .isEqualTo("[2001:db8::1]:5 (local)");
    }
}
