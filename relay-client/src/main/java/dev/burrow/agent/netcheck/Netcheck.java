package dev.burrow.agent.netcheck;

import dev.burrow.agent.endpoint.Ipv6HostAddresses;
import dev.burrow.agent.portmap.PortMapProbe;
import dev.burrow.stun.client.BindingResult;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.metrics.StunMetrics;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.DatagramChannel;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The measurement behind {@code burrow netcheck}: every STUN server (the relays' own and configured
 * ones) is asked from <em>one</em> socket per address family, so differing mapped addresses mean the
 * NAT maps per destination (a hard NAT); each relay's latency is its STUN round trip, or the TCP
 * connect time to its relay port when UDP does not get through. The relay with the lowest latency is
 * the preferred (home) relay. The default gateway is asked which port-mapping protocols it offers
 * ({@link PortMapProbe}).
 */
public final class Netcheck {
    /** A relay's STUN server, when the relay is given without one: the standard STUN port on the relay's host. */
    public static final int DEFAULT_RELAY_STUN_PORT = 3478;

    /** A relay to measure: its name (URL) and addresses. */
    public record RelayTarget(String name, InetSocketAddress relayTcp, InetSocketAddress stunServer) {}

    private final EventLoopGroup group;
    private final Class<? extends DatagramChannel> channelType;
    private final Duration timeout;

    public Netcheck(EventLoopGroup group, Class<? extends DatagramChannel> channelType, Duration timeout) {
        this.group = group;
        this.channelType = channelType;
        this.timeout = timeout;
    }

    public NetcheckReport run(List<RelayTarget> relays, List<InetSocketAddress> extraStun) throws IOException {
        return run(relays, extraStun, PortMapProbe::defaultGateway);
    }

    /** As above, with the port-mapping probe given (tests; empty: not probed). */
    public NetcheckReport run(
            List<RelayTarget> relays, List<InetSocketAddress> extraStun, Supplier<Optional<PortMapProbe>> portMapProbe)
            throws IOException {
        List<InetSocketAddress> servers = new ArrayList<>();
        for (RelayTarget r : relays) {
            if (r.stunServer() != null && !servers.contains(r.stunServer())) {
                servers.add(r.stunServer());
            }
        }
        for (InetSocketAddress s : extraStun) {
            if (!servers.contains(s)) {
                servers.add(s);
            }
        }
        Map<InetSocketAddress, NetcheckReport.StunResult> results = new LinkedHashMap<>();
        RetransmissionPolicy policy = RetransmissionPolicy.rfc8489Within(timeout);
        askFamily(servers, true, policy, results);
        askFamily(servers, false, policy, results);
        List<NetcheckReport.StunResult> stun =
                servers.stream().map(results::get).toList();

        InetSocketAddress v4 = null;
        InetSocketAddress v6 = null;
        List<InetSocketAddress> v4Mappings = new ArrayList<>();
        for (NetcheckReport.StunResult r : stun) {
            if (r.mapped() == null) {
                continue;
            }
            if (r.mapped().getAddress() instanceof Inet4Address) {
                v4 = v4 == null ? r.mapped() : v4;
                v4Mappings.add(r.mapped());
            } else if (r.mapped().getAddress() instanceof Inet6Address && v6 == null) {
                v6 = r.mapped();
            }
        }
        Boolean varies =
                v4Mappings.size() < 2 ? null : v4Mappings.stream().distinct().count() > 1;
        boolean udp = stun.stream().anyMatch(r -> r.mapped() != null);

        List<NetcheckReport.RelayLatency> latencies = new ArrayList<>();
        for (RelayTarget r : relays) {
            NetcheckReport.StunResult s = r.stunServer() == null ? null : results.get(r.stunServer());
            Duration tcp = null;
            String error = null;
            try {
                tcp = tcpConnect(r.relayTcp());
            } catch (IOException e) {
                error = "tcp: " + e.getMessage();
            }
            latencies.add(
                    new NetcheckReport.RelayLatency(r.name(), r.stunServer(), s == null ? null : s.rtt(), tcp, error));
        }
        String preferred = latencies.stream()
                .filter(l -> l.latency() != null)
                .min(Comparator.comparing(NetcheckReport.RelayLatency::latency))
                .map(NetcheckReport.RelayLatency::relay)
                .orElse(null);
        return new NetcheckReport(
                udp,
                v4,
                v6,
                varies,
                stun,
                latencies,
                preferred,
                portMapProbe.get().orElse(null),
                Ipv6HostAddresses.current());
    }

    private void askFamily(
            List<InetSocketAddress> servers,
            boolean ipv4,
            RetransmissionPolicy policy,
            Map<InetSocketAddress, NetcheckReport.StunResult> results) {
        List<InetSocketAddress> family = servers.stream()
                .filter(s -> s.getAddress() != null && (s.getAddress() instanceof Inet4Address) == ipv4)
                .toList();
        if (family.isEmpty()) {
            return;
        }
        InetSocketAddress bind = new InetSocketAddress(ipv4 ? "0.0.0.0" : "::", 0);
        try (StunClient client = StunClient.open(group, channelType, bind, policy, StunMetrics.NOOP)) {
            Map<InetSocketAddress, CompletableFuture<BindingResult>> pending = new LinkedHashMap<>();
            for (InetSocketAddress s : family) {
                pending.put(s, client.bind(s));
            }
            for (var e : pending.entrySet()) {
                results.put(e.getKey(), await(e.getKey(), e.getValue()));
            }
        } catch (IOException e) {
            for (InetSocketAddress s : family) {
                results.put(
                        s,
                        new NetcheckReport.StunResult(
                                s, null, null, "no " + (ipv4 ? "IPv4" : "IPv6") + " socket: " + e.getMessage()));
            }
        }
        for (InetSocketAddress s : unresolved(servers)) {
            results.putIfAbsent(s, new NetcheckReport.StunResult(s, null, null, "unresolved"));
        }
    }

    private NetcheckReport.StunResult await(InetSocketAddress server, CompletableFuture<BindingResult> f) {
        try {
            BindingResult r = f.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            return new NetcheckReport.StunResult(server, r.mappedAddress(), r.elapsed(), null);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            return new NetcheckReport.StunResult(
                    server, null, null, c instanceof TimeoutException ? "timeout" : String.valueOf(c.getMessage()));
        } catch (TimeoutException e) {
            return new NetcheckReport.StunResult(server, null, null, "timeout");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new NetcheckReport.StunResult(server, null, null, "interrupted");
        }
    }

    private static List<InetSocketAddress> unresolved(List<InetSocketAddress> servers) {
        return servers.stream().filter(s -> s.getAddress() == null).toList();
    }

    private Duration tcpConnect(InetSocketAddress target) throws IOException {
        if (target == null || target.isUnresolved()) {
            throw new IOException("unresolved");
        }
        long start = System.nanoTime();
        try (Socket s = new Socket()) {
            s.connect(target, (int) timeout.toMillis());
        }
        return Duration.ofNanos(System.nanoTime() - start);
    }
}
