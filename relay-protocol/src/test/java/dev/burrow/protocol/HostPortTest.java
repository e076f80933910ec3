package dev.burrow.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HostPortTest {
    @Test
    void readsTheWrittenForms() {
        assertThat(HostPort.parse("relay.example:443", HostPort.PORT_REQUIRED))
                .isEqualTo(new HostPort("relay.example", 443));
        assertThat(HostPort.parse(" 10.0.0.1:0 ", HostPort.PORT_REQUIRED)).isEqualTo(new HostPort("10.0.0.1", 0));
        assertThat(HostPort.parse("[::1]:8443", HostPort.PORT_REQUIRED)).isEqualTo(new HostPort("::1", 8443));
        assertThat(HostPort.parse(":9090", HostPort.PORT_REQUIRED)).isEqualTo(new HostPort("", 9090));
    }

    @Test
    void aDefaultPortMakesThePortOptional() {
        assertThat(HostPort.parse("relay.example", 443)).isEqualTo(new HostPort("relay.example", 443));
        assertThat(HostPort.parse("[fd00::1]", 443)).isEqualTo(new HostPort("fd00::1", 443));
        assertThat(HostPort.parse("fd00::1", 443))
                .as("a bare IPv6 literal is a host")
                .isEqualTo(new HostPort("fd00::1", 443));
        assertThat(HostPort.parse("[fd00::1]:80", 443)).isEqualTo(new HostPort("fd00::1", 80));
    }

    @Test
    void bracketedFormsOnlyDemandBracketsForIpv6EvenWithADefaultPort() {
        assertThat(HostPort.parseBracketed("stun.example", 3478)).isEqualTo(new HostPort("stun.example", 3478));
        assertThat(HostPort.parseBracketed("[::1]", 3478)).isEqualTo(new HostPort("::1", 3478));
        assertThat(HostPort.parseBracketed("[::1]:5349", 3478)).isEqualTo(new HostPort("::1", 5349));
        assertThatThrownBy(() -> HostPort.parseBracketed("::1:3478", 3478)).hasMessageContaining("in brackets");
    }

    @Test
    void refusesWithAMessageNamingTheText() {
        assertThatThrownBy(() -> HostPort.parse("relay.example", HostPort.PORT_REQUIRED))
                .hasMessageContaining("'relay.example' has no port");
        assertThatThrownBy(() -> HostPort.parse("::1:80", HostPort.PORT_REQUIRED))
                .hasMessageContaining("in brackets");
        assertThatThrownBy(() -> HostPort.parse("[::1:80", HostPort.PORT_REQUIRED))
                .hasMessageContaining("missing ']'");
        assertThatThrownBy(() -> HostPort.parse("[::1]80", HostPort.PORT_REQUIRED))
                .hasMessageContaining("is not [ipv6]:port");
        assertThatThrownBy(() -> HostPort.parse("h:http", HostPort.PORT_REQUIRED))
                .hasMessageContaining("is not a number");
        assertThatThrownBy(() -> HostPort.parse("h:65536", HostPort.PORT_REQUIRED))
                .hasMessageContaining("out of range 0-65535");
        assertThatThrownBy(() -> HostPort.parse("h:-1", HostPort.PORT_REQUIRED))
                .hasMessageContaining("is not a number");
        assertThatThrownBy(() -> HostPort.parse("h:+80", HostPort.PORT_REQUIRED))
                .hasMessageContaining("is not a number");
        assertThatThrownBy(() -> HostPort.parse("h:", HostPort.PORT_REQUIRED)).hasMessageContaining("is not a number");
        assertThatThrownBy(() -> HostPort.parse(" ", 443)).hasMessageContaining("empty address");
    }

    @Test
    void printsIpv6InBrackets() {
        assertThat(new HostPort("::1", 80)).hasToString("[::1]:80");
        assertThat(new HostPort("relay.example", 443)).hasToString("relay.example:443");
    }
}
