package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import java.time.Duration;

/**
 * Metrics of the relay client. Meter names are the constants below; tags are bounded enums only
 * (never node IDs or addresses). {@link #NOOP} records nothing; a Micrometer implementation lives
 * with the agent.
 */
public interface RelayClientMetrics {
    String CONNECT_ATTEMPTS = "burrow.relay.client.connect.attempts";
    String CONNECTS = "burrow.relay.client.connects";
    String RECONNECTS_SCHEDULED = "burrow.relay.client.reconnects.scheduled";
    String DENIALS = "burrow.relay.client.denials"; // tag: reason
    String DEAD_RELAY = "burrow.relay.client.dead"; // tag: cause (keepalive|ping)
    String RTT = "burrow.relay.client.rtt";
    String DATAGRAMS_SENT = "burrow.relay.client.datagrams.sent";
    String DATAGRAMS_RECEIVED = "burrow.relay.client.datagrams.received";
    String DATAGRAMS_DROPPED = "burrow.relay.client.datagrams.dropped"; // tag: result
    String PROTOCOL_VIOLATIONS = "burrow.relay.client.protocol.violations"; // tag: kind
    String UNKNOWN_FRAMES = "burrow.relay.client.frames.unknown";
    String CIRCUITS_OPENED = "burrow.relay.client.circuits.opened"; // tag: role (dialer|listener)
    String CIRCUITS_FAILED = "burrow.relay.client.circuits.failed"; // tag: reason

    /** Why the client declared its relay dead. */
    enum DeadCause {
        KEEPALIVE,
        PING
    }

    default void connectAttempt() {}

    default void connected() {}

    default void reconnectScheduled(Duration delay) {}

    default void denied(DenyReason reason) {}

    default void deadRelay(DeadCause cause) {}

    default void rtt(Duration rtt) {}

    default void datagramSent(int bytes) {}

    default void datagramReceived(int bytes) {}

    default void datagramDropped(SendResult result) {}

    default void protocolViolation(ProtocolViolation.Kind kind) {}

    default void unknownFrame() {}

    default void circuitOpened(boolean dialer) {}

    default void circuitFailed(CircuitRejectReason reason) {}

    RelayClientMetrics NOOP = new RelayClientMetrics() {};
}
