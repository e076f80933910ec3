package dev.burrow.agent.relay;

import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.Locale;

/** {@link RelayClientMetrics} on Micrometer; every tag is a bounded enum. */
public final class MicrometerRelayClientMetrics implements RelayClientMetrics {
    private final MeterRegistry registry;
    private final Counter connectAttempts;
    private final Counter connects;
    private final Timer rtt;
    private final Timer reconnectDelay;
    private final DistributionSummary sent;
    private final DistributionSummary received;
    private final Counter unknownFrames;

    public MicrometerRelayClientMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.connectAttempts = Counter.builder(CONNECT_ATTEMPTS).register(registry);
        this.connects = Counter.builder(CONNECTS).register(registry);
        this.rtt = Timer.builder(RTT).register(registry);
        this.reconnectDelay = Timer.builder(RECONNECTS_SCHEDULED).register(registry);
        this.sent =
                DistributionSummary.builder(DATAGRAMS_SENT).baseUnit("bytes").register(registry);
        this.received = DistributionSummary.builder(DATAGRAMS_RECEIVED)
                .baseUnit("bytes")
                .register(registry);
        this.unknownFrames = Counter.builder(UNKNOWN_FRAMES).register(registry);
    }

    private static String tag(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void connectAttempt() {
        connectAttempts.increment();
    }

    @Override
    public void connected() {
        connects.increment();
    }

    @Override
    public void reconnectScheduled(Duration delay) {
        reconnectDelay.record(delay);
    }

    @Override
    public void rtt(Duration d) {
        rtt.record(d);
    }

    @Override
    public void datagramSent(int bytes) {
        sent.record(bytes);
    }

    @Override
    public void datagramReceived(int bytes) {
        received.record(bytes);
    }

    @Override
    public void unknownFrame() {
        unknownFrames.increment();
    }

    @Override
    public void denied(DenyReason reason) {
        Counter.builder(DENIALS).tag("reason", tag(reason)).register(registry).increment();
    }

    @Override
    public void deadRelay(DeadCause cause) {
        Counter.builder(DEAD_RELAY).tag("cause", tag(cause)).register(registry).increment();
    }

    @Override
    public void datagramDropped(SendResult result) {
        Counter.builder(DATAGRAMS_DROPPED)
                .tag("result", tag(result))
                .register(registry)
                .increment();
    }

    @Override
    public void protocolViolation(ProtocolViolation.Kind kind) {
        Counter.builder(PROTOCOL_VIOLATIONS)
                .tag("kind", tag(kind))
                .register(registry)
                .increment();
    }

    @Override
    public void circuitOpened(boolean dialer) {
        Counter.builder(CIRCUITS_OPENED)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void circuitFailed(CircuitRejectReason reason) {
        Counter.builder(CIRCUITS_FAILED)
                .tag("reason", tag(reason))
                .register(registry)
                .increment();
    }
}
