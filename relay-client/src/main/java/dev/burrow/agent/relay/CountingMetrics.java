package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;

/** Counts protocol violations for {@link RelayClient#stats()} as well as passing every event on. */
final class CountingMetrics implements RelayClientMetrics {
    // Final after construction.
    private final RelayClientMetrics delegate;
    // Any thread.
    private final LongAdder protocolViolations = new LongAdder();

    CountingMetrics(RelayClientMetrics delegate) {
        this.delegate = delegate;
    }

    long protocolViolations() {
        return protocolViolations.sum();
    }

    @Override
    public void connectAttempt() {
        delegate.connectAttempt();
    }

    @Override
    public void connected() {
        delegate.connected();
    }

    @Override
    public void reconnectScheduled(Duration delay) {
        delegate.reconnectScheduled(delay);
    }

    @Override
    public void denied(DenyReason reason) {
        delegate.denied(reason);
    }

    @Override
    public void deadRelay(DeadCause cause) {
        delegate.deadRelay(cause);
    }

    @Override
    public void rtt(Duration rtt) {
        delegate.rtt(rtt);
    }

    @Override
    public void datagramSent(int bytes) {
        delegate.datagramSent(bytes);
    }

    @Override
    public void datagramReceived(int bytes) {
        delegate.datagramReceived(bytes);
    }

    @Override
    public void datagramDropped(SendResult result) {
        delegate.datagramDropped(result);
    }

    @Override
    public void unknownFrame() {
        delegate.unknownFrame();
    }

    @Override
    public void circuitOpened(boolean dialer) {
        delegate.circuitOpened(dialer);
    }

    @Override
    public void circuitFailed(CircuitRejectReason reason) {
        delegate.circuitFailed(reason);
    }

    @Override
    public void protocolViolation(ProtocolViolation.Kind kind) {
        protocolViolations.increment();
        delegate.protocolViolation(kind);
    }
}
