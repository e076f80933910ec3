package dev.burrow.agent.udp;

import dev.burrow.agent.stream.StreamStatusCode;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.Locale;

/** {@link UdpMetrics} on Micrometer: counters tagged by side, way, code or reason (small enums only). */
public final class MicrometerUdpMetrics implements UdpMetrics {
    private final MeterRegistry registry;

    public MicrometerUdpMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    private static String tag(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void flowOpened(Side side) {
        Counter.builder(FLOWS_OPENED).tag("side", tag(side)).register(registry).increment();
    }

    @Override
    public void flowRefused(Side side, StreamStatusCode code) {
        Counter.builder(FLOWS_REFUSED)
                .tag("side", tag(side))
                .tag("code", tag(code))
                .register(registry)
                .increment();
    }

    @Override
    public void flowClosed(Side side, UdpCloseReason reason) {
        Counter.builder(FLOWS_CLOSED)
                .tag("side", tag(side))
                .tag("reason", tag(reason))
                .register(registry)
                .increment();
    }

    @Override
    public void datagram(Side side, boolean toPeer, int bytes) {
        String way = toPeer ? "out" : "in";
        Counter.builder(DATAGRAMS)
                .tag("side", tag(side))
                .tag("way", way)
                .register(registry)
                .increment();
        Counter.builder(BYTES)
                .tag("side", tag(side))
                .tag("way", way)
                .register(registry)
                .increment(bytes);
    }

    @Override
    public void dropped(UdpDropReason reason) {
        Counter.builder(DROPPED).tag("reason", tag(reason)).register(registry).increment();
    }
}
