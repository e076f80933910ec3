package dev.burrow.agent.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Backoff, relay URL parsing and trust configuration. */
class SmallPartsTest {

    @Test
    void backoffDoublesWithJitterUpToTheCapAndResets() {
        Backoff b = new Backoff(Duration.ofMillis(500), Duration.ofSeconds(30), new Random(1));
        long ceiling = 500;
        for (int i = 0; i < 12; i++) {
            Duration d = b.next();
            long cap = Math.min(ceiling, 30_000);
            assertThat(d.toMillis()).isBetween(cap / 2, cap);
            ceiling *= 2;
        }
        assertThat(b.next().toMillis()).isBetween(15_000L, 30_000L);
        b.reset();
        assertThat(b.next().toMillis()).isBetween(250L, 500L);
    }

    @Test
    void relayUrlsNameHostPortAndMode() {
        RelayAddress a = RelayAddress.parse(URI.create("https://relay.example:8443"));
        assertThat(a.host()).isEqualTo("relay.example");
        assertThat(a.port()).isEqualTo(8443);
        assertThat(a.mode()).isNull();
        assertThat(RelayAddress.parse(URI.create("https://relay.example")).port())
                .isEqualTo(443);
        assertThat(RelayAddress.parse(URI.create("wss://relay.example")).mode()).isEqualTo(ConnectMode.WEBSOCKET);
        assertThat(RelayAddress.parse(URI.create("https://relay.example/?mode=upgrade"))
                        .mode())
                .isEqualTo(ConnectMode.UPGRADE);
        RelayAddress v6 = RelayAddress.parse(URI.create("https://[::1]:7000"));
        assertThat(v6.host()).isEqualTo("::1");
        assertThat(v6.authority()).isEqualTo("[::1]:7000");
        assertThat(v6.webSocketUri("/v1/relay").toString()).isEqualTo("wss://[::1]:7000/v1/relay");
        assertThatThrownBy(() -> RelayAddress.parse(URI.create("http://relay.example")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RelayAddress.parse(URI.create("https://relay.example/?mode=carrier-pigeon")))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void pinsAreCheckedWhenConfigured() {
        assertThatThrownBy(() -> RelayTrust.pinned("md5:abc")).isInstanceOf(IllegalArgumentException.class);
        assertThat(RelayTrust.pinned("sha256:" + "ab".repeat(32))).isInstanceOf(RelayTrust.Pinned.class);
    }

    @Test
    void configRejectsNonsense() {
        var id = dev.burrow.identity.testing.TestIdentities.ephemeral("x");
        var b = RelayClientConfig.builder(URI.create("https://r:1"), RelayTrust.system(), id);
        assertThat(b.build().relaySelector()).isSameAs(RelayUrlSelector.FIXED);
        assertThatThrownBy(() ->
                        b.backoff(Duration.ofSeconds(2), Duration.ofSeconds(1)).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RelayClientConfig.builder(URI.create("ftp://r"), RelayTrust.system(), id)
                        .build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RelayClientConfig.builder(URI.create("https://r:1"), RelayTrust.system(), id)
                        .maxQueuedBytes(10)
                        .build())
                .isInstanceOf(IllegalArgumentException.class);
    }
}
