package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.protocol.frame.PublishRefusedReason;
import java.net.URI;
import java.time.Duration;

/**
 * Connection and peer events. Every method is called on the client's event loop: return quickly and
 * never block. Exceptions thrown here are logged and otherwise ignored.
 */
public interface RelayClientListener {

    /** Authenticated; datagrams and circuits now work. */
    default void connected(RelayConnectionInfo info) {}

    /**
     * The connection ended (or an attempt failed), and a new attempt follows after {@code retryIn}.
     *
     * @param cause why (I/O error, timeout, protocol violation, ...); never null
     */
    default void disconnected(Throwable cause, Duration retryIn) {}

    /** The relay refused us; the client waits {@code retryIn} (long when {@link RelayDeniedException#definitive()}). */
    default void denied(RelayDeniedException denial, Duration retryIn) {}

    /** The relay is draining: we reconnect after {@code reconnectIn} and keep trying for {@code tryFor}. */
    default void restarting(Duration reconnectIn, Duration tryFor) {}

    /**
     * A {@link RelayClient#moveTo} did not complete: the client stays on its current connection.
     *
     * @param target the relay we tried to move to
     * @param cause  why (I/O error, timeout, DENY, ...)
     */
    default void moveFailed(URI target, Throwable cause) {}

    /** A peer we sent to is (again) reachable through this relay. */
    default void peerPresent(NodeKey peer) {}

    /** A peer we sent to is not reachable through this relay. */
    default void peerGone(NodeKey peer, PeerGoneReason reason) {}

    /** The relay's view of our connection; an empty problem means healthy. */
    default void health(String problem) {}

    /** The relay started pacing our reads. */
    default void rateLimited(long bytesPerSecond, long burstBytes) {}

    /** A new round-trip time sample from our PING. */
    default void rtt(Duration rtt) {}

    /** The relay connection became (un)writable: senders may pause instead of being dropped. */
    default void writabilityChanged(boolean writable) {}

    /** Public ingress: the relay published {@code service} on {@code port} ({@code publicAddress} = host:port). */
    default void published(String service, int port, String publicAddress) {}

    /** Public ingress: the relay did not publish {@code service} (or closed its port). */
    default void publishRefused(String service, PublishRefusedReason reason, String message) {}
}
