package dev.burrow.relay.server.net;

import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.RateLimitKind;
import dev.burrow.stun.limit.SourceConcurrencyLimiter;
import dev.burrow.stun.limit.SourceRateLimiter;
import java.net.InetAddress;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Admits new TCP connections before any TLS work (connection storms), in three steps, all per source as
 * {@link dev.burrow.stun.limit.SourceKey} keys it (IPv4 address, IPv6 /64, never the port; the same
 * keying as public ingress and STUN): a token bucket on new connections (bounded table, so a
 * spoofed-source storm cannot grow the heap); a cap on the handshakes one source has in flight, so
 * a few addresses holding half-open handshakes cannot fill the relay-wide cap (issue 14 §4); and the
 * relay-wide cap on connections that have not finished their handshake.
 */
public final class ConnectionGate {
    private final SourceRateLimiter perSourceRate;
    private final SourceConcurrencyLimiter perSourceHandshakes;
    private final int maxHandshakes;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final RelayMetrics metrics;
    private final Predicate<InetAddress> exempt;

    public ConnectionGate(
            double ratePerIp,
            int burstPerIp,
            int maxEntries,
            int maxHandshakes,
            int maxHandshakesPerSource,
            RelayMetrics metrics) {
        this(ratePerIp, burstPerIp, maxEntries, maxHandshakes, maxHandshakesPerSource, metrics, ip -> false);
    }

    /**
     * @param exempt source addresses the per-IP limits do not apply to: the sibling relays of the
     *     mesh, which open one connection per cross-relay circuit. The relay-wide handshakes-in-flight
     *     cap still applies.
     */
    public ConnectionGate(
            double ratePerIp,
            int burstPerIp,
            int maxEntries,
            int maxHandshakes,
            int maxHandshakesPerSource,
            RelayMetrics metrics,
            Predicate<InetAddress> exempt) {
        this.exempt = exempt;
        this.perSourceRate = new SourceRateLimiter(ratePerIp, burstPerIp, maxEntries);
        this.perSourceHandshakes = new SourceConcurrencyLimiter(maxHandshakesPerSource);
        this.maxHandshakes = maxHandshakes;
        this.metrics = metrics;
    }

    /**
     * @return the admission when the connection may proceed, which the caller must
     *     {@linkplain Admission#release() release} once the handshake ends (established or closed);
     *     null when it is refused
     */
    public Admission tryAdmit(InetAddress ip) {
        InetAddress counted = null;
        if (ip != null && !exempt.test(ip)) {
            if (!perSourceRate.tryAcquire(ip)) {
                metrics.rateLimited(RateLimitKind.IP_CONNECT);
                return null;
            }
            if (!perSourceHandshakes.tryAcquire(ip)) {
                metrics.rateLimited(RateLimitKind.HANDSHAKES_PER_SOURCE);
                return null;
            }
            counted = ip;
        }
        if (inFlight.incrementAndGet() > maxHandshakes) {
            inFlight.decrementAndGet();
            if (counted != null) {
                perSourceHandshakes.release(counted);
            }
            metrics.rateLimited(RateLimitKind.HANDSHAKES_IN_FLIGHT);
            return null;
        }
        return new Admission(counted);
    }

    public int handshakesInFlight() {
        return inFlight.get();
    }

    /** Handshakes {@code ip}'s source (its IPv4 address or IPv6 /64) has in flight now. */
    public int handshakesInFlight(InetAddress ip) {
        return perSourceHandshakes.held(ip);
    }

    /** One admitted connection's handshake slot; releasing twice is harmless. */
    public final class Admission {
        /** The source whose per-source count this holds, or null (exempt or unknown source). */
        private final InetAddress source;

        private final AtomicBoolean released = new AtomicBoolean();

        private Admission(InetAddress source) {
            this.source = source;
        }

        /** The handshake is over (established or closed): gives the slot back. */
        public void release() {
            if (released.compareAndSet(false, true)) {
                inFlight.decrementAndGet();
                if (source != null) {
                    perSourceHandshakes.release(source);
                }
            }
        }
    }
}
