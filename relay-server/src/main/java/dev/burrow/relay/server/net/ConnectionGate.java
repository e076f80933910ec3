package dev.burrow.relay.server.net;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.burrow.relay.server.forward.TokenBucket;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.RateLimitKind;
import java.net.InetAddress;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Admits new TCP connections before any TLS work (D3): a per-source-IP token bucket (keyed by the IP
 * only, never the port, in a bounded Caffeine cache so a spoofed-source storm cannot grow the heap)
 * and a cap on connections that have not finished their handshake.
 */
public final class ConnectionGate {
    /** Limiter entries idle this long are forgotten (a full bucket carries no information). */
    private static final Duration IP_ENTRY_TTL = Duration.ofMinutes(1);

    private final Cache<InetAddress, TokenBucket> perIp;
    private final double rate;
    private final int burst;
    private final int maxHandshakes;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final RelayMetrics metrics;
    private final java.util.function.Predicate<InetAddress> exempt;

    public ConnectionGate(double ratePerIp, int burstPerIp, int maxEntries, int maxHandshakes, RelayMetrics metrics) {
        this(ratePerIp, burstPerIp, maxEntries, maxHandshakes, metrics, ip -> false);
    }

    /**
     * @param exempt source addresses the per-IP connect limit does not apply to: the sibling relays of
     *     the mesh, which open one connection per cross-relay circuit. The handshakes-in-flight cap still applies.
     */
    public ConnectionGate(double ratePerIp, int burstPerIp, int maxEntries, int maxHandshakes, RelayMetrics metrics,
            java.util.function.Predicate<InetAddress> exempt) {
        this.exempt = exempt;
        this.perIp = Caffeine.newBuilder().maximumSize(maxEntries).expireAfterAccess(IP_ENTRY_TTL).build();
        this.rate = ratePerIp;
        this.burst = burstPerIp;
        this.maxHandshakes = maxHandshakes;
        this.metrics = metrics;
    }

    /**
     * @return true when the connection may proceed; the caller must then call {@link #handshakeDone()}
     *     exactly once (established or closed)
     */
    public boolean tryAdmit(InetAddress ip) {
        if (ip != null && !exempt.test(ip)) {
            TokenBucket b = perIp.get(ip, k -> new TokenBucket(rate, burst, System.nanoTime()));
            boolean ok;
            synchronized (b) {
                ok = b.tryTake(1, System.nanoTime());
            }
            if (!ok) {
                metrics.rateLimited(RateLimitKind.IP_CONNECT);
                return false;
            }
        }
        if (inFlight.incrementAndGet() > maxHandshakes) {
            inFlight.decrementAndGet();
            metrics.rateLimited(RateLimitKind.HANDSHAKES_IN_FLIGHT);
            return false;
        }
        return true;
    }

    public void handshakeDone() {
        inFlight.decrementAndGet();
    }

    public int handshakesInFlight() {
        return inFlight.get();
    }
}
