package dev.burrow.agent.direct;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientListener;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.protocol.HostPort;
import dev.burrow.protocol.frame.PeerGoneReason;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wires a {@link DirectManager} into an agent: signalling over the relay's keyed datagrams, STUN at
 * the relay's host (port {@link #RELAY_STUN_PORT}) plus {@code BURROW_STUN_SERVERS}, the agent's one
 * inbound gate, and who may start disco with us (peers we forward to, or that some exposed service
 * could admit: the gate's own precheck).
 *
 * <p>Environment: {@code BURROW_DIRECT=off} disables direct paths (relay only);
 * {@code BURROW_STUN_SERVERS=host:port,...} adds STUN servers.
 */
public final class DirectAgentSupport {
    private static final Logger log = LoggerFactory.getLogger(DirectAgentSupport.class);
    /** The relay's embedded STUN server is expected on the standard STUN port of the relay's host. */
    public static final int RELAY_STUN_PORT = 3478;

    private DirectAgentSupport() {}

    /** Whether direct paths are enabled ({@code BURROW_DIRECT} is not {@code off}). */
    public static boolean enabled() {
        String v = System.getenv("BURROW_DIRECT");
        return v == null || !v.trim().equalsIgnoreCase("off");
    }

    /**
     * Whether the direct UDP sockets (and so QUIC) run on their own one-thread epoll loop rather than
     * on the agent's NIO loops ({@code BURROW_DIRECT_TRANSPORT=epoll|nio}): epoll offers UDP
     * segmentation offload (several QUIC packets per send call, {@code BURROW_QUIC_GSO}); the agent's
     * TCP sockets stay on NIO (see {@code AgentSetup.agentTransport}), so the gate registers the
     * target sockets of direct streams on the agent's loops ({@code TargetConnector.TARGET_LOOPS}).
     * Epoll is used only where it is available.
     */
    static boolean directSocketsOnEpoll() {
        String v = System.getenv(TRANSPORT_ENV);
        boolean wanted = v == null ? DEFAULT_EPOLL : v.trim().equalsIgnoreCase("epoll");
        if (wanted && !Epoll.isAvailable()) {
            log.info("direct sockets on nio: epoll is not available ({})", String.valueOf(Epoll.unavailabilityCause()));
            return false;
        }
        return wanted;
    }

    /** Environment variable choosing the direct sockets' transport: {@code epoll} or {@code nio}. */
    public static final String TRANSPORT_ENV = "BURROW_DIRECT_TRANSPORT";
    /** The default transport of the direct sockets (see docs/benchmarks.md, "Direct path on epoll"). */
    static final boolean DEFAULT_EPOLL = false;

    private static EventLoopGroup newEpollLoop() {
        return new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("burrow-direct", true), EpollIoHandler.newFactory());
    }

    /**
     * Starts direct paths for an agent, or returns null (relay only) when disabled or the UDP sockets
     * cannot be bound; never fails the agent.
     */
    public static DirectManager start(
            NodeIdentity identity,
            NodeVerifier verifier,
            EventLoopGroup group,
            Transport transport,
            RelayClient relay,
            Supplier<URI> relayUrl,
            InboundStreamGate gate,
            ServiceRegistry registry,
            Supplier<Set<NodeKey>> forwardPeers) {
        return start(
                identity,
                verifier,
                group,
                transport,
                relay,
                relayUrl,
                gate,
                registry,
                forwardPeers,
                true,
                List.of(),
                List::of);
    }

    /**
     * As above, with agent.yaml's {@code direct:} settings: whether to map ports on the gateway, and
     * extra STUN servers ({@code host:port}, already validated).
     */
    public static DirectManager start(
            NodeIdentity identity,
            NodeVerifier verifier,
            EventLoopGroup group,
            Transport transport,
            RelayClient relay,
            Supplier<URI> relayUrl,
            InboundStreamGate gate,
            ServiceRegistry registry,
            Supplier<Set<NodeKey>> forwardPeers,
            boolean portMapping,
            List<String> stunServers,
            Supplier<List<URI>> fleet) {
        if (!enabled()) {
            log.info("direct paths disabled (BURROW_DIRECT=off): every stream uses the relay");
            return null;
        }
        // The current (home) relay's STUN port: with several relays, the one we are connected to.
        Supplier<List<InetSocketAddress>> stun = () -> {
            URI u = relayUrl == null ? null : relayUrl.get();
            int port = relay.connection().map(RelayConnectionInfo::stunPort).orElse(-1);
            List<InetSocketAddress> all = stunServers(u == null ? null : u.getHost(), port);
            List<InetSocketAddress> more = new ArrayList<>(configuredStun(stunServers));
            more.addAll(otherRelaysStun(u, fleet.get()));
            for (InetSocketAddress a : more) {
                if (!all.contains(a)) {
                    all.add(a);
                }
            }
            return all;
        };
        DirectManager[] holder = new DirectManager[1];
        EventLoopGroup epollLoop = directSocketsOnEpoll() ? newEpollLoop() : null;
        DirectManager m = new DirectManager(
                identity,
                verifier,
                epollLoop != null ? epollLoop : group,
                epollLoop != null ? EpollDatagramChannel.class : transport.datagramChannel(),
                (peer, packet) -> relay.send(peer, packet).accepted(),
                stun,
                k -> forwardPeers.get().contains(k)
                        || registry.all().stream()
                                .anyMatch(s -> gate.precheck(k, s.name()).isEmpty()),
                gate::accept,
                // Dual-stack (IPv6 wildcard, IPv4 too); IPv4 only where the host has no IPv6.
                new InetSocketAddress("::", 0),
                new InetSocketAddress("::", 0),
                epollLoop != null ? group : null);
        if (epollLoop != null) {
            m.ownLoops(epollLoop);
        }
        m.portMapping(portMapping);
        holder[0] = m;
        relay.setDatagramHandler((source, payload) -> holder[0].receiveFromRelay(source, payload));
        relay.addListener(new RelayClientListener() {
            @Override
            public void connected(RelayConnectionInfo info) {
                m.relayConnected(); // warm peers whose call-me-maybe could not go out yet
            }

            @Override
            public void peerPresent(NodeKey peer) {
                m.peerPresent(peer);
            }

            @Override
            public void peerGone(NodeKey peer, PeerGoneReason reason) {
                m.peerGone(peer);
            }
        });
        try {
            m.start();
        } catch (IOException | RuntimeException e) {
            log.warn("direct paths unavailable ({}): every stream uses the relay", e.getMessage());
            m.close();
            return null;
        }
        return m;
    }

    /** STUN servers asked on other relays of the fleet (a second destination tells a symmetric NAT). */
    public static final int MAX_OTHER_RELAY_STUN = 2;

    /**
     * The embedded STUN servers ({@value #RELAY_STUN_PORT}) of up to {@link #MAX_OTHER_RELAY_STUN}
     * other relays the agent may use (its fleet, {@code relays:}), besides the one it is connected to:
     * with them the agent learns whether its NAT maps per destination without any STUN configuration.
     * A relay whose STUN is off just does not answer.
     */
    static List<InetSocketAddress> otherRelaysStun(URI current, List<URI> fleet) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (URI r : fleet) {
            if (out.size() >= MAX_OTHER_RELAY_STUN) {
                break;
            }
            if (r == null
                    || r.getHost() == null
                    || (current != null && r.getHost().equalsIgnoreCase(current.getHost()))) {
                continue;
            }
            try {
                String h = r.getHost().startsWith("[")
                        ? r.getHost().substring(1, r.getHost().length() - 1)
                        : r.getHost();
                InetSocketAddress a = new InetSocketAddress(InetAddress.getByName(h), RELAY_STUN_PORT);
                if (!out.contains(a)) {
                    out.add(a);
                }
            } catch (IOException e) {
                log.debug("relay host {} does not resolve: {}", r.getHost(), e.toString());
            }
        }
        return out;
    }

    /** agent.yaml's {@code direct.stun-servers} (validated when the file was read), resolved now; unresolvable ones are skipped. */
    static List<InetSocketAddress> configuredStun(List<String> servers) {
        List<InetSocketAddress> out = new ArrayList<>();
        for (String s : servers) {
            try {
                HostPort hp = HostPort.parse(s, HostPort.PORT_REQUIRED);
                out.add(new InetSocketAddress(InetAddress.getByName(hp.host()), hp.port()));
            } catch (IOException | IllegalArgumentException e) {
                log.debug("ignoring STUN server '{}': {}", s, e.toString());
            }
        }
        return out;
    }

    static List<InetSocketAddress> stunServers(String relayHost) {
        return stunServers(relayHost, -1);
    }

    /**
     * The relay's STUN server (at the port its SERVER_ACCEPT named; {@value #RELAY_STUN_PORT} when it
     * did not say; none when it said 0) and {@code BURROW_STUN_SERVERS}.
     */
    static List<InetSocketAddress> stunServers(String relayHost, int advertisedPort) {
        List<InetSocketAddress> out = new ArrayList<>();
        if (relayHost != null && !relayHost.isBlank() && advertisedPort != 0) {
            try {
                String h = relayHost.startsWith("[") ? relayHost.substring(1, relayHost.length() - 1) : relayHost;
                out.add(new InetSocketAddress(
                        InetAddress.getByName(h), advertisedPort > 0 ? advertisedPort : RELAY_STUN_PORT));
            } catch (IOException e) {
                log.debug("relay host {} does not resolve: {}", relayHost, e.toString());
            }
        }
        String extra = System.getenv("BURROW_STUN_SERVERS");
        if (extra != null) {
            for (String s : extra.split(",")) {
                s = s.trim();
                try {
                    HostPort hp = HostPort.parse(s, HostPort.PORT_REQUIRED);
                    out.add(new InetSocketAddress(InetAddress.getByName(hp.host()), hp.port()));
                } catch (IOException | IllegalArgumentException e) {
                    log.debug("ignoring STUN server '{}': {}", s, e.toString());
                }
            }
        }
        return out;
    }
}
