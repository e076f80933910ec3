package dev.burrow.identity.metrics;

import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.token.InvalidTokenException;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/** {@link IdentityMetrics} on Micrometer: every counter is registered up front, so recording is a lookup. */
public final class MicrometerIdentityMetrics implements IdentityMetrics {
    private final Counter verifiedCa;
    private final Counter verifiedKeyOnly;
    private final Map<PeerVerificationException.Reason, Counter> refused =
            new EnumMap<>(PeerVerificationException.Reason.class);
    private final Counter enrolled;
    private final Map<EnrolmentException.Reason, Counter> enrolmentFailed =
            new EnumMap<>(EnrolmentException.Reason.class);
    private final Map<InvalidTokenException.Reason, Counter> tokens = new EnumMap<>(InvalidTokenException.Reason.class);
    private final Map<WebhookOutcome, Counter> webhook = new EnumMap<>(WebhookOutcome.class);

    public MicrometerIdentityMetrics(MeterRegistry registry) {
        verifiedCa = peer(registry, "ca");
        verifiedKeyOnly = peer(registry, "key_only");
        for (PeerVerificationException.Reason r : PeerVerificationException.Reason.values()) {
            refused.put(r, peer(registry, tag(r)));
        }
        enrolled = enrolmentCounter(registry, "ok");
        for (EnrolmentException.Reason r : EnrolmentException.Reason.values()) {
            enrolmentFailed.put(r, enrolmentCounter(registry, tag(r)));
        }
        for (InvalidTokenException.Reason r : InvalidTokenException.Reason.values()) {
            tokens.put(
                    r,
                    Counter.builder(TOKENS_REFUSED)
                            .tag("reason", tag(r))
                            .description("join tokens refused")
                            .register(registry));
        }
        for (WebhookOutcome o : WebhookOutcome.values()) {
            webhook.put(
                    o,
                    Counter.builder(WEBHOOK_DECISIONS)
                            .tag("outcome", tag(o))
                            .description("admission webhook decisions")
                            .register(registry));
        }
    }

    private static Counter peer(MeterRegistry registry, String outcome) {
        return Counter.builder(PEER_VERIFICATIONS)
                .tag("outcome", outcome)
                .description("peer certificates judged")
                .register(registry);
    }

    private static Counter enrolmentCounter(MeterRegistry registry, String outcome) {
        return Counter.builder(ENROLMENTS)
                .tag("outcome", outcome)
                .description("enrolment requests")
                .register(registry);
    }

    private static String tag(Enum<?> e) {
        return e.name().toLowerCase(Locale.ROOT);
    }

    @Override
    public void peerVerified(boolean caIssued) {
        (caIssued ? verifiedCa : verifiedKeyOnly).increment();
    }

    @Override
    public void peerRefused(PeerVerificationException.Reason reason) {
        refused.get(reason).increment();
    }

    @Override
    public void enrolment(EnrolmentException.Reason failureOrNull) {
        (failureOrNull == null ? enrolled : enrolmentFailed.get(failureOrNull)).increment();
    }

    @Override
    public void tokenRefused(InvalidTokenException.Reason reason) {
        tokens.get(reason).increment();
    }

    @Override
    public void webhook(WebhookOutcome outcome) {
        webhook.get(outcome).increment();
    }
}
