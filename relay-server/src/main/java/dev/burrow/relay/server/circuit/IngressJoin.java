package dev.burrow.relay.server.circuit;

import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.metrics.RelayMetrics;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.time.Duration;

/**
 * Joins a public-ingress connection to the listener's attached circuit connection with the same
 * byte copy as node-to-node circuits ({@link CircuitProxy}: backpressure, half-close, idle timeout).
 */
public final class IngressJoin {
    private IngressJoin() {}

    /**
     * Sends CIRCUIT_ATTACHED and then {@code header} (the PROXY v2 header; ownership moves here) to
     * the listener, then copies. Call on the listener channel's event loop, so that nothing the
     * public client sends can reach the listener before the header.
     */
    public static void join(
            Channel publicSide,
            Channel listener,
            ByteBuf header,
            Duration idleTimeout,
            RelayMetrics metrics,
            Runnable onIdle) {
        listener.write(new RelayFrame.CircuitAttached());
        listener.writeAndFlush(header);
        CircuitProxy.splice(publicSide, listener, idleTimeout, metrics, onIdle);
    }
}
