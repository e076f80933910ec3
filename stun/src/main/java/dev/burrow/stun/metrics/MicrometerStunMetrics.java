package dev.burrow.stun.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Map;

/** {@link StunMetrics} on Micrometer: every counter is registered up front, so recording is a lookup. */
public final class MicrometerStunMetrics implements StunMetrics {
    private final Map<StunProtocol, Counter[]> responses = new EnumMap<>(StunProtocol.class);
    private final Map<DropReason, Counter> dropped = new EnumMap<>(DropReason.class);
    private final Map<ClientOutcome, Counter> transactions = new EnumMap<>(ClientOutcome.class);
    private final Map<ClientIgnoreReason, Counter> ignored = new EnumMap<>(ClientIgnoreReason.class);
    private final Counter sent;

    public MicrometerStunMetrics(MeterRegistry registry) {
        for (StunProtocol p : StunProtocol.values()) {
            responses.put(p, new Counter[] {
                Counter.builder(RESPONSES)
                        .tag("protocol", p.tag())
                        .tag("class", "success")
                        .description("STUN responses sent")
                        .register(registry),
                Counter.builder(RESPONSES)
                        .tag("protocol", p.tag())
                        .tag("class", "error")
                        .description("STUN responses sent")
                        .register(registry),
            });
        }
        for (DropReason r : DropReason.values()) {
            dropped.put(
                    r,
                    Counter.builder(DROPPED)
                            .tag("reason", r.tag())
                            .description("STUN input dropped without a response")
                            .register(registry));
        }
        for (ClientOutcome o : ClientOutcome.values()) {
            transactions.put(
                    o,
                    Counter.builder(CLIENT_TRANSACTIONS)
                            .tag("outcome", o.tag())
                            .description("STUN client transactions")
                            .register(registry));
        }
        for (ClientIgnoreReason r : ClientIgnoreReason.values()) {
            ignored.put(
                    r,
                    Counter.builder(CLIENT_IGNORED)
                            .tag("reason", r.tag())
                            .description("packets the STUN client ignored")
                            .register(registry));
        }
        sent = Counter.builder(CLIENT_SENT)
                .description("STUN client requests sent, retransmissions included")
                .register(registry);
    }

    @Override
    public void responded(StunProtocol protocol, boolean error) {
        responses.get(protocol)[error ? 1 : 0].increment();
    }

    @Override
    public void dropped(DropReason reason) {
        dropped.get(reason).increment();
    }

    @Override
    public void clientTransaction(ClientOutcome outcome) {
        transactions.get(outcome).increment();
    }

    @Override
    public void clientIgnored(ClientIgnoreReason reason) {
        ignored.get(reason).increment();
    }

    @Override
    public void clientSent() {
        sent.increment();
    }
}
