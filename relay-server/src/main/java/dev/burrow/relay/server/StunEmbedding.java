package dev.burrow.relay.server;

import dev.burrow.stun.metrics.MicrometerStunMetrics;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.server.StunServer;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.micrometer.core.instrument.MeterRegistry;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;

/** Starts the STUN server (UDP) next to the relay, on the relay's event loops. */
final class StunEmbedding {
    private StunEmbedding() {}

    static StunServer start(
            InetSocketAddress address, Transport transport, EventLoopGroup group, MeterRegistry registryOrNull)
            throws IOException {
        StunMetrics metrics = registryOrNull == null ? StunMetrics.NOOP : new MicrometerStunMetrics(registryOrNull);
        return StunServer.start(StunServerConfig.udp(address), group, transport.datagramChannel(), null, metrics);
    }
}
