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
        if (!enabled()) {
            log.info("direct paths disabled (BURROW_DIRECT=off): every stream uses the relay");
            return null;
        }
        // The current (home) relay's STUN port: with several relays, the one we are connected to.
        Supplier<List<InetSocketAddress>> stun = () -> {
            URI u = relayUrl == null ? null : relayUrl.get();
            int port = relay.connection().map(RelayConnectionInfo::stunPort).orElse(-1);
            return stunServers(u == null ? null : u.getHost(), port);
        };
        DirectManager[] holder = new DirectManager[1];
        DirectManager m = new DirectManager(
                identity,
                verifier,
                group,
                transport.datagramChannel(),
                (peer, packet) -> relay.send(peer, packet).accepted(),
                stun,
                k -> forwardPeers.get().contains(k)
                        || registry.all().stream()
                                .anyMatch(s -> gate.precheck(k, s.name()).isEmpty()),
                gate::accept,
                new InetSocketAddress("0.0.0.0", 0),
                new InetSocketAddress("0.0.0.0", 0));
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
