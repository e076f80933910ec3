package dev.burrow.stun.client;

import java.time.Duration;

/**
 * UDP retransmission timing (RFC 8489 §6.2.1): the request is sent at 0, RTO, 3·RTO, 7·RTO ...
 * (the interval doubles) up to {@code maxRequests} times (Rc); after the last one the client
 * waits {@code lastWaitMultiplier}·RTO (Rm) for an answer. {@code maxTotal} bounds the whole
 * transaction whatever the other values say.
 */
public record RetransmissionPolicy(Duration initialRto, int maxRequests, int lastWaitMultiplier, Duration maxTotal) {
    /** Upper bound on {@code maxTotal}: nothing waits on a STUN answer longer than the RFC schedule. */
    public static final Duration MAX_TOTAL = Duration.ofMillis(39_500);

    /** The RFC defaults: RTO 500 ms, Rc = 7, Rm = 16, which adds up to 39.5 s. */
    public static final RetransmissionPolicy RFC8489 =
            new RetransmissionPolicy(Duration.ofMillis(500), 7, 16, Duration.ofMillis(39_500));

    public RetransmissionPolicy {
        if (initialRto.isNegative() || initialRto.isZero()) {
            throw new IllegalArgumentException("initial RTO must be positive");
        }
        if (maxRequests < 1 || maxRequests > 16) {
            throw new IllegalArgumentException("maxRequests (Rc) must be 1..16");
        }
        if (lastWaitMultiplier < 1 || lastWaitMultiplier > 64) {
            throw new IllegalArgumentException("lastWaitMultiplier (Rm) must be 1..64");
        }
        if (maxTotal.isNegative() || maxTotal.isZero() || maxTotal.compareTo(MAX_TOTAL) > 0) {
            throw new IllegalArgumentException("maxTotal must be in (0, 39.5 s]");
        }
    }

    /** The RFC schedule, cut off after {@code total}. */
    public static RetransmissionPolicy rfc8489Within(Duration total) {
        return new RetransmissionPolicy(
                RFC8489.initialRto(), RFC8489.maxRequests(), RFC8489.lastWaitMultiplier(), total);
    }

    /** Wait after the {@code sent}-th transmission (1-based) before re-sending or giving up, in nanoseconds. */
    long waitAfterNanos(int sent) {
        long rto = initialRto.toNanos();
        if (sent >= maxRequests) {
            return rto * lastWaitMultiplier;
        }
        return rto << Math.min(sent - 1, 20);
    }
}
