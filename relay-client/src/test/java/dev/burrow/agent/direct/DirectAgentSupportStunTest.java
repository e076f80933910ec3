package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetSocketAddress;
import org.junit.jupiter.api.Test;

/** Which STUN server the agent asks: the port the relay's SERVER_ACCEPT named, 3478 when it did not say, none for 0. */
class DirectAgentSupportStunTest {
    @Test
    void followsTheRelaysAdvertisedStunPort() {
        assumeTrue(System.getenv("BURROW_STUN_SERVERS") == null, "no extra STUN servers in the environment");
        assertThat(DirectAgentSupport.stunServers("127.0.0.1", 40_000))
                .containsExactly(new InetSocketAddress("127.0.0.1", 40_000));
        assertThat(DirectAgentSupport.stunServers("127.0.0.1", -1))
                .containsExactly(new InetSocketAddress("127.0.0.1", DirectAgentSupport.RELAY_STUN_PORT));
        assertThat(DirectAgentSupport.stunServers("127.0.0.1", 0))
                .as("the relay serves no STUN")
                .isEmpty();
    }

    @Test
    void asksUpToTwoOtherRelaysOfTheFleet() {
        var current = java.net.URI.create("https://127.0.0.1:7443");
        var fleet = java.util.List.of(
                current,
                java.net.URI.create("https://127.0.0.2:7443"),
                java.net.URI.create("https://127.0.0.2:8443"),
                java.net.URI.create("https://127.0.0.3:7443"),
                java.net.URI.create("https://127.0.0.4:7443"));
        assertThat(DirectAgentSupport.otherRelaysStun(current, fleet))
                .containsExactly(
                        new InetSocketAddress("127.0.0.2", DirectAgentSupport.RELAY_STUN_PORT),
                        new InetSocketAddress("127.0.0.3", DirectAgentSupport.RELAY_STUN_PORT));
        assertThat(DirectAgentSupport.otherRelaysStun(current, java.util.List.of(current)))
                .isEmpty();
        assertThat(DirectAgentSupport.otherRelaysStun(
                        null, java.util.List.of(java.net.URI.create("https://[::1]:7443"))))
                .containsExactly(new InetSocketAddress("::1", DirectAgentSupport.RELAY_STUN_PORT));
    }
}
