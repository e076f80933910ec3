package dev.burrow.agent.metrics;

import dev.burrow.agent.relay.RelaySwitchReason;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.SpliceOutcome;
import dev.burrow.agent.stream.StreamStatusCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;

/** {@link AgentMetrics} on Micrometer. */
public final class MicrometerAgentMetrics implements AgentMetrics {
    private final MeterRegistry registry;

    public MicrometerAgentMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    /** The registry (other parts' Micrometer recorders, such as the UDP services', register there too). */
    public MeterRegistry registry() {
        return registry;
    }

    private static String tag(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void streamOpened(Direction direction) {
        Counter.builder(STREAMS_OPENED)
                .tag("direction", tag(direction))
                .register(registry)
                .increment();
    }

    @Override
    public void streamRefused(Direction direction, StreamStatusCode code) {
        Counter.builder(STREAMS_REFUSED)
                .tag("direction", tag(direction))
                .tag("code", tag(code))
                .register(registry)
                .increment();
    }

    @Override
    public void streamEnded(Direction direction, SpliceOutcome outcome, long bytesIn, long bytesOut) {
        Counter.builder(STREAMS_ENDED)
                .tag("direction", tag(direction))
                .tag("outcome", tag(outcome))
                .register(registry)
                .increment();
        Counter.builder(STREAM_BYTES)
                .tag("direction", tag(direction))
                .tag("way", "in")
                .register(registry)
                .increment(bytesIn);
        Counter.builder(STREAM_BYTES)
                .tag("direction", tag(direction))
                .tag("way", "out")
                .register(registry)
                .increment(bytesOut);
    }

    @Override
    public void preambleError() {
        Counter.builder(PREAMBLE_ERRORS).register(registry).increment();
    }

    @Override
    public void streamAbandoned(AbandonStage stage) {
        Counter.builder(STREAMS_ABANDONED)
                .tag("stage", tag(stage))
                .register(registry)
                .increment();
    }

    @Override
    public void relaySwitched(RelaySwitchReason reason) {
        Counter.builder(RELAY_SWITCHES)
                .tag("reason", tag(reason))
                .register(registry)
                .increment();
    }

    @Override
    public void whoisOverflow() {
        Counter.builder(WHOIS_OVERFLOWS).register(registry).increment();
    }

    @Override
    public void relaySessionOpened(boolean dialer) {
        Counter.builder(RELAY_SESSIONS_OPENED)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void relaySessionClosed(boolean dialer) {
        Counter.builder(RELAY_SESSIONS_CLOSED)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void relaySessionStream(boolean dialer) {
        Counter.builder(RELAY_SESSION_STREAMS)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void relaySessionError(SessionError error) {
        Counter.builder(RELAY_SESSION_ERRORS)
                .tag("reason", error.name().toLowerCase(java.util.Locale.ROOT))
                .register(registry)
                .increment();
    }

    @Override
    public void relaySessionOpenPaced() {
        Counter.builder(SESSION_OPENS_PACED).register(registry).increment();
    }

    @Override
    public void directSessionOpened(boolean dialer) {
        Counter.builder(DIRECT_SESSIONS_OPENED)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void directSessionClosed(boolean dialer) {
        Counter.builder(DIRECT_SESSIONS_CLOSED)
                .tag("role", dialer ? "dialer" : "listener")
                .register(registry)
                .increment();
    }

    @Override
    public void directSessionError(DirectSessionError error) {
        Counter.builder(DIRECT_SESSION_ERRORS)
                .tag("reason", error.name().toLowerCase(java.util.Locale.ROOT))
                .register(registry)
                .increment();
    }
}
