package dev.burrow.agent.portmap;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps one UDP port mapped on the default gateway while the socket lives: maps it on
 * {@link #start()} (PCP, then NAT-PMP, then UPnP IGD), renews at half the granted lifetime, asks again rarely when
 * the gateway did not answer, and deletes the mapping on {@link #close()}. The mapping runs on its
 * own daemon thread (the client blocks, bounded); {@link #external()} is read from any thread.
 *
 * <p>{@code BURROW_PORTMAP=off} disables port mapping ({@link #enabled()}).
 */
public final class PortMapping implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(PortMapping.class);

    /** A gateway that did not answer (or refused) is asked again this rarely: routers rarely change their mind. */
    public static final Duration RETRY_AFTER_FAILURE = Duration.ofMinutes(5);
    /** A failed renewal is retried this often while the lease still runs. */
    public static final Duration RENEW_RETRY = Duration.ofSeconds(15);
    /** Renewals never come closer than this, whatever tiny lifetime a gateway grants (no busy loop). */
    public static final Duration MIN_RENEW_INTERVAL = Duration.ofSeconds(1);

    private final PortMapClient client;
    private final int internalPort;
    private final String label;
    private final CountDownLatch closing = new CountDownLatch(1);
    /** Written under the monitor (so one deletion wins); read without it. */
    private volatile PortMap current;

    private volatile String status = "port mapping: not tried yet";
    private volatile List<PortMapProtocol> offered = List.of();
    private Thread thread;

    public PortMapping(PortMapClient client, int internalPort, String label) {
        this.client = client;
        this.internalPort = internalPort;
        this.label = label;
    }

    /** Whether port mapping is on: {@code BURROW_PORTMAP} is not {@code off} (default on). */
    public static boolean enabled() {
        return enabled(System.getenv());
    }

    /** The rule behind {@link #enabled()}: anything but {@code off} (any case, spaces ignored) is on. */
    static boolean enabled(Map<String, String> env) {
        String v = env.get("BURROW_PORTMAP");
        return v == null || !v.trim().equalsIgnoreCase("off");
    }

    /**
     * Whether port mapping is on when agent.yaml says {@code configured} ({@code direct.port-mapping}):
     * {@code BURROW_PORTMAP} overrides the file when set ({@code off} turns it off, anything else on).
     */
    public static boolean enabled(boolean configured) {
        return enabled(System.getenv(), configured);
    }

    /** The rule behind {@link #enabled(boolean)}. */
    static boolean enabled(Map<String, String> env, boolean configured) {
        return env.get("BURROW_PORTMAP") == null ? configured : enabled(env);
    }

    /**
     * A mapping of {@code internalPort} on this host's default gateway, not started; empty when port
     * mapping is off or there is no IPv4 default gateway.
     */
    public static Optional<PortMapping> forDefaultGateway(int internalPort, String label, PortMapCounters counters) {
        return forDefaultGateway(internalPort, label, counters, true);
    }

    /** As above, with agent.yaml's {@code direct.port-mapping} ({@code BURROW_PORTMAP} overrides it). */
    public static Optional<PortMapping> forDefaultGateway(
            int internalPort, String label, PortMapCounters counters, boolean configured) {
        if (!enabled(configured)) {
            log.info(
                    "port mapping disabled ({})",
                    System.getenv("BURROW_PORTMAP") != null ? "BURROW_PORTMAP=off" : "direct.port-mapping: false");
            return Optional.empty();
        }
        return DefaultGateway.find()
                .map(gw -> new PortMapping(
                        new PortMapClient(new InetSocketAddress(gw, PcpCodec.SERVER_PORT), counters),
                        internalPort,
                        label));
    }

    public synchronized void start() {
        if (thread != null) {
            return;
        }
        thread = Thread.ofPlatform().daemon().name("burrow-portmap-" + label).start(this::run);
    }

    /** The external address peers may reach the socket at, while a mapping is held. */
    public Optional<InetSocketAddress> external() {
        PortMap m = current;
        return m == null ? Optional.empty() : Optional.of(m.external());
    }

    /** The mapping held now (protocol, external address, lifetime), while held. */
    public Optional<PortMap> held() {
        return Optional.ofNullable(current);
    }

    /** What port mapping is doing, for logs and status: "mapped with PCP: ..." or why not. */
    public String status() {
        return status;
    }

    /** The protocols the gateway answered in the last attempt. */
    public List<PortMapProtocol> offered() {
        return offered;
    }

    private void run() {
        try {
            while (closing.getCount() > 0) {
                PortMap held = current;
                if (held != null && expired(held)) {
                    log.info("port mapping ({}): the lease on {} ran out", label, text(held.external()));
                    synchronized (this) {
                        current = null;
                    }
                    held = null;
                }
                PortMapClient.Outcome o = client.map(internalPort, held);
                if (!o.answered().isEmpty()) {
                    offered = o.answered();
                }
                Duration next;
                if (o.map().isPresent()) {
                    PortMap m = o.map().get();
                    boolean changed = held == null || !held.external().equals(m.external());
                    synchronized (this) {
                        current = m;
                    }
                    if (closing.getCount() == 0) {
                        deleteHeld(); // close() ran during this attempt: the mapping is ours to delete
                        return;
                    }
                    status = "port mapping: " + m.protocol().label() + " mapped " + text(m.external()) + " for "
                            + m.lifetimeSeconds() + " s";
                    if (changed) {
                        log.info(
                                "port mapping ({}): UDP {} mapped to {} by {} for {} s",
                                label,
                                internalPort,
                                text(m.external()),
                                m.protocol().label(),
                                m.lifetimeSeconds());
                    }
                    next = max(Duration.ofSeconds(m.lifetimeSeconds()).dividedBy(2), MIN_RENEW_INTERVAL);
                } else if (held != null) {
                    status = "port mapping: renewal failed (" + o.reason() + "), lease still held";
                    log.info("port mapping ({}): renewal of {} failed: {}", label, text(held.external()), o.reason());
                    next = RENEW_RETRY;
                } else {
                    status = "port mapping: none (" + o.reason() + ")";
                    log.info(
                            "port mapping ({}): no mapping from gateway {}: {}",
                            label,
                            text(client.gateway()),
                            o.reason());
                    next = RETRY_AFTER_FAILURE;
                }
                if (closing.await(next.toMillis(), TimeUnit.MILLISECONDS)) {
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            status = "port mapping: stopped (" + e + ")";
            log.warn("port mapping ({}) stopped: {}", label, e.toString());
        }
    }

    /** {@code 203.0.113.10:40000}: how logs and status show an address (not {@code /203.0.113.10:40000}). */
    static String text(InetSocketAddress a) {
        return (a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress()) + ":" + a.getPort();
    }

    private static boolean expired(PortMap m) {
        return System.nanoTime() - m.grantedAtNanos() >= TimeUnit.SECONDS.toNanos(m.lifetimeSeconds());
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /**
     * Stops renewing and deletes the mapping (bounded: one deletion exchange, at most
     * {@link PortMapClient#TRIES} x {@link PortMapClient#TRY_TIMEOUT}). Does not wait for an attempt in
     * flight: if it still gets a mapping, the thread sees it is closing and deletes it itself.
     */
    @Override
    public void close() {
        closing.countDown();
        deleteHeld();
        status = "port mapping: closed";
    }

    /** Deletes the held mapping, once: whichever of close() and the thread gets it first. */
    private void deleteHeld() {
        PortMap m;
        synchronized (this) {
            m = current;
            current = null;
        }
        if (m != null) {
            boolean deleted = client.delete(m);
            log.info(
                    "port mapping ({}): {} {}",
                    label,
                    text(m.external()),
                    deleted ? "deleted" : "not confirmed deleted (it expires)");
        }
    }
}
