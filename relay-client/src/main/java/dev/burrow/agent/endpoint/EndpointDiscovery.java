package dev.burrow.agent.endpoint;

import dev.burrow.stun.client.BindingResult;
import dev.burrow.stun.client.StunClient;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The candidate endpoints of one UDP socket: the addresses of the local interfaces with the
 * socket's port, and the public mappings STUN servers (the relays' and configured ones) report for
 * the socket itself (the STUN client is attached to it, so the mapping is the one peers will see).
 * Refreshed every {@link #REFRESH_INTERVAL} (before NAT mappings and the peers' copies go stale)
 * and whenever the set of interface addresses changes (polled every {@link #INTERFACE_POLL}; Java
 * has no portable network-change notification). STUN is asked over IPv4 only; a socket that can
 * also send IPv6 (a dual-stack socket) adds this host's global IPv6 addresses ({@link
 * Ipv6HostAddresses}) as local candidates: IPv6 has no NAT to learn a mapping from, and a stateful
 * firewall in front of the host is opened by punching like a NAT's filter.
 */
public final class EndpointDiscovery implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EndpointDiscovery.class);
    /** magicsock treats endpoints older than 27 s as stale; a refresh also keeps the NAT mapping alive (conntrack's UDP timeout is 30 s). */
    public static final Duration REFRESH_INTERVAL = Duration.ofSeconds(25);
    /** How often interface addresses are compared to notice a network change. */
    public static final Duration INTERFACE_POLL = Duration.ofSeconds(5);
    /** At most this many endpoints are announced (a CALL_ME_MAYBE carries at most 32). */
    public static final int MAX_ENDPOINTS = 16;

    private final StunClient stun;
    private final int port;
    private final Supplier<List<InetSocketAddress>> stunServers;
    private final EventExecutor executor;
    private final Consumer<List<Endpoint>> onChange;
    private final boolean ipv6;
    private volatile List<Endpoint> current = List.of();
    private volatile Set<InetAddress> lastInterfaces = Set.of();
    private volatile Boolean mappingVaries;
    private volatile boolean stunUnanswered;
    private ScheduledFuture<?> refreshTask;
    private ScheduledFuture<?> pollTask;

    public EndpointDiscovery(
            StunClient stun,
            int port,
            Supplier<List<InetSocketAddress>> stunServers,
            EventExecutor executor,
            Consumer<List<Endpoint>> onChange) {
        this(stun, port, stunServers, executor, onChange, false);
    }

    /** @param ipv6 the socket can send IPv6 (dual-stack): IPv6 host addresses are candidates too */
    public EndpointDiscovery(
            StunClient stun,
            int port,
            Supplier<List<InetSocketAddress>> stunServers,
            EventExecutor executor,
            Consumer<List<Endpoint>> onChange,
            boolean ipv6) {
        this.stun = stun;
        this.port = port;
        this.stunServers = stunServers;
        this.executor = executor;
        this.onChange = onChange;
        this.ipv6 = ipv6;
    }

    public void start() {
        refreshTask =
                executor.scheduleWithFixedDelay(this::refresh, 0, REFRESH_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
        pollTask = executor.scheduleWithFixedDelay(
                () -> {
                    if (!interfaceAddresses().equals(lastInterfaces)) {
                        log.info("network interfaces changed: refreshing endpoints");
                        refresh();
                    }
                },
                INTERFACE_POLL.toMillis(),
                INTERFACE_POLL.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    /**
     * Whether the NAT in front of this socket maps it to a different public endpoint per destination
     * (address- and/or port-dependent mapping, "symmetric"): true or false once two STUN servers
     * answered in one refresh, null while unknown (fewer than two servers, or no answers yet).
     */
    public Boolean mappingVaries() {
        return mappingVaries;
    }

    /** True when STUN servers were asked in the last refresh and none answered (UDP blocked, or the servers are down). */
    public boolean stunUnanswered() {
        return stunUnanswered;
    }

    /** The endpoints as of the last refresh. */
    public List<Endpoint> current() {
        return current;
    }

    /** Asks every STUN server again and re-reads the interfaces; completes with the new list. */
    public CompletableFuture<List<Endpoint>> refresh() {
        Set<InetAddress> ifaces = interfaceAddresses();
        Set<InetAddress> previousInterfaces = lastInterfaces;
        lastInterfaces = ifaces;
        List<CompletableFuture<BindingResult>> asks = new ArrayList<>();
        for (InetSocketAddress s : stunServers.get()) {
            if (s.getAddress() instanceof Inet4Address) {
                asks.add(stun.bind(s).exceptionally(e -> null));
            }
        }
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(v -> {
            Set<Endpoint> eps = new LinkedHashSet<>();
            int answers = 0;
            for (CompletableFuture<BindingResult> f : asks) {
                BindingResult r = f.join();
                if (r != null && r.mappedAddress() != null && r.mappedAddress().getAddress() instanceof Inet4Address) {
                    eps.add(new Endpoint(r.mappedAddress(), Endpoint.Source.STUN));
                    answers++;
                }
            }
            // Two servers (distinct destinations) that saw different mappings of this one socket: the
            // NAT maps per destination (symmetric); the same mapping: endpoint-independent. One answer
            // tells nothing, so the last verdict stands.
            if (answers >= 2) {
                mappingVaries = eps.size() > 1;
            }
            stunUnanswered = !asks.isEmpty() && answers == 0;
            if (eps.isEmpty() && ifaces.equals(previousInterfaces)) {
                // No STUN answer (UDP briefly down, server restarting): on the same network the last
                // mappings are still the best guess; dropping them would leave the peer only LAN
                // addresses to punch when UDP comes back.
                current.stream().filter(e -> e.source() == Endpoint.Source.STUN).forEach(eps::add);
            }
            // IPv6 host addresses before private IPv4 ones: across sites they are what can work
            // (the cap is MAX_ENDPOINTS, and a container host has many IPv4 bridges).
            for (InetAddress a : ifaces) {
                if (a instanceof Inet6Address) {
                    eps.add(new Endpoint(new InetSocketAddress(a, port), Endpoint.Source.LOCAL));
                }
            }
            for (InetAddress a : ifaces) {
                if (a instanceof Inet4Address) {
                    eps.add(new Endpoint(new InetSocketAddress(a, port), Endpoint.Source.LOCAL));
                }
            }
            List<Endpoint> list = dedupe(new ArrayList<>(eps));
            boolean changed = !list.equals(current);
            current = list;
            if (changed) {
                log.debug("endpoints of UDP port {}: {}", port, list);
                onChange.accept(list);
            }
            return list;
        });
    }

    private static List<Endpoint> dedupe(List<Endpoint> eps) {
        List<Endpoint> out = new ArrayList<>();
        Set<InetSocketAddress> seen = new LinkedHashSet<>();
        for (Endpoint e : eps) {
            if (seen.add(e.address()) && out.size() < MAX_ENDPOINTS) {
                out.add(e);
            }
        }
        return Collections.unmodifiableList(out);
    }

    /** The local candidates' addresses: IPv4 ones, and IPv6 host candidates when the socket can use them. */
    private Set<InetAddress> interfaceAddresses() {
        Set<InetAddress> all = localAddresses();
        if (ipv6) {
            all.addAll(Ipv6HostAddresses.current());
        }
        return all;
    }

    /** IPv4 addresses of the interfaces that are up, loopback excluded. */
    public static Set<InetAddress> localAddresses() {
        Set<InetAddress> out = new LinkedHashSet<>();
        try {
            var ifs = NetworkInterface.getNetworkInterfaces();
            while (ifs != null && ifs.hasMoreElements()) {
                NetworkInterface ni = ifs.nextElement();
                if (!ni.isUp() || ni.isLoopback()) {
                    continue;
                }
                for (var ia : ni.getInterfaceAddresses()) {
                    InetAddress a = ia.getAddress();
                    if (a instanceof Inet4Address && !a.isLinkLocalAddress() && !a.isLoopbackAddress()) {
                        out.add(a);
                    }
                }
            }
        } catch (SocketException e) {
            log.debug("cannot list interfaces: {}", e.toString());
        }
        return out;
    }

    @Override
    public void close() {
        if (refreshTask != null) {
            refreshTask.cancel(false);
        }
        if (pollTask != null) {
            pollTask.cancel(false);
        }
    }
}
