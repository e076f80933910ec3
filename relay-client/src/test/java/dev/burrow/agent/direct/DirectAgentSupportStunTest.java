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
}
