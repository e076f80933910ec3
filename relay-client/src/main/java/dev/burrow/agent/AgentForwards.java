package dev.burrow.agent;

import dev.burrow.agent.forward.ForwardListener;
import dev.burrow.agent.forward.ForwardSpec;
import dev.burrow.agent.forward.PeerNameResolver;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayConnectionState;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.udp.UdpEngine;
import dev.burrow.agent.udp.UdpForwarder;
import dev.burrow.agent.udp.UdpLimits;
import dev.burrow.identity.NodeKey;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's forwards: a {@link ForwardListener} per TCP forward and a {@link UdpForwarder} per UDP
 * one, diffed against each configuration ({@link #apply}): a forward whose listen address, peer,
 * service and protocol are unchanged keeps its port and its connections, a removed one closes, a new
 * one binds. Not thread-safe: the {@link Agent} calls it under its lock.
 */
final class AgentForwards {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    /** How long a new forward may take to bind its port. */
    private static final long START_TIMEOUT_SECONDS = 10;

    /** What identifies a forward across reloads: {@code peer} for a forward by key, {@code peerName} by name. */
    private record ForwardKey(
            String host, int port, NodeKey peer, String peerName, String service, ServiceProtocol protocol) {}

    /**
     * What an {@link #apply} leaves: the peers the forwards name (by key and by name), and the first
     * forward that could not start (null when all did; the others run either way).
     */
    record Applied(List<NodeKey> peers, List<String> peerNames, IOException failure) {}

    /** Makes the listener of one TCP forward (the agent's paths, dialer, loops and counters behind it). */
    @FunctionalInterface
    interface ListenerFactory {
        ForwardListener create(ForwardSpec spec, AgentConfig.Forward forward);
    }

    private final ListenerFactory listeners;
    /** Null without a fleet CA (UDP forwards by name then fail their flows). */
    private final PeerNameResolver names;

    private final RelayClient relay;
    private final UdpEngine udp;

    private final Map<ForwardKey, ForwardListener> tcp = new LinkedHashMap<>();
    private final Map<ForwardKey, UdpForwarder> udpForwards = new LinkedHashMap<>();

    AgentForwards(ListenerFactory listeners, PeerNameResolver names, RelayClient relay, UdpEngine udp) {
        this.listeners = listeners;
        this.names = names;
        this.relay = relay;
        this.udp = udp;
    }

    /** Makes the running forwards those of {@code c}. */
    Applied apply(AgentConfig c) {
        Map<ForwardKey, AgentConfig.Forward> wanted = new LinkedHashMap<>();
        for (AgentConfig.Forward f : c.forwards()) {
            ForwardKey key = switch (c.peerRef(f.peer())) {
                case AgentConfig.PeerRef.Key k ->
                    new ForwardKey(f.listenHost(), f.listenPort(), k.key(), null, f.service(), f.protocol());
                case AgentConfig.PeerRef.Name n ->
                    new ForwardKey(f.listenHost(), f.listenPort(), null, n.name(), f.service(), f.protocol());
            };
            wanted.put(key, f);
        }
        for (var it = tcp.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                log.info("forward {} removed", e.getValue().spec());
                e.getValue().close();
                it.remove();
            }
        }
        for (var it = udpForwards.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            if (!wanted.containsKey(e.getKey())) {
                log.info("UDP forward {} removed", e.getKey());
                e.getValue().close();
                it.remove();
            }
        }
        IOException failure = null;
        for (var e : wanted.entrySet()) {
            if (tcp.containsKey(e.getKey()) || udpForwards.containsKey(e.getKey())) {
                continue;
            }
            try {
                if (e.getValue().protocol() == ServiceProtocol.UDP) {
                    startUdp(e.getKey(), e.getValue());
                } else {
                    startTcp(e.getKey(), e.getValue());
                }
            } catch (IOException ex) {
                failure = ex;
            }
        }
        return new Applied(
                wanted.keySet().stream()
                        .map(ForwardKey::peer)
                        .filter(Objects::nonNull)
                        .toList(),
                wanted.keySet().stream()
                        .map(ForwardKey::peerName)
                        .filter(Objects::nonNull)
                        .toList(),
                failure);
    }

    private void startTcp(ForwardKey k, AgentConfig.Forward f) throws IOException {
        ForwardSpec spec =
                new ForwardSpec(f.listenHost(), f.listenPort(), k.peer(), k.peerName(), f.peer(), f.service());
        ForwardListener l = listeners.create(spec, f);
        l.holdUntil(
                new ForwardListener.Readiness() { // a connection a moment before the relay is reached waits
                    @Override
                    public boolean ready() {
                        return relay.state() == RelayConnectionState.CONNECTED;
                    }

                    @Override
                    public CompletableFuture<?> whenReady() {
                        return relay.whenConnected();
                    }
                });
        try {
            l.start().get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
            tcp.put(k, l);
        } catch (Exception ex) {
            l.close();
            Throwable cause = ex instanceof ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
            throw cause instanceof IOException io ? io : new IOException(cause.getMessage(), cause);
        }
    }

    private void startUdp(ForwardKey k, AgentConfig.Forward f) throws IOException {
        NodeKey key = k.peer();
        String name = k.peerName();
        UdpForwarder.Spec spec = new UdpForwarder.Spec(
                f.listenHost(),
                f.listenPort(),
                () -> key != null
                        ? CompletableFuture.completedFuture(key)
                        : names == null
                                ? CompletableFuture.failedFuture(new IOException("names need a fleet CA"))
                                : names.resolve(name),
                f.peer(),
                f.service(),
                f.maxConnections() > 0 ? f.maxConnections() : UdpLimits.DEFAULT_MAX_FLOWS_PER_FORWARD);
        try {
            udpForwards.put(k, udp.startForward(spec).get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS));
        } catch (Exception ex) {
            Throwable cause = ex instanceof ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
            throw new IOException(
                    "UDP forward on " + f.listenHost() + ":" + f.listenPort() + ": " + cause.getMessage(), cause);
        }
    }

    /** The TCP forwards (status). */
    Collection<ForwardListener> tcpListeners() {
        return tcp.values();
    }

    /** The forwards running, TCP and UDP. */
    int count() {
        return tcp.size() + udpForwards.size();
    }

    /** The bound address of each forward, TCP ones first, each kind in configuration order. */
    List<InetSocketAddress> addresses() {
        List<InetSocketAddress> out = new ArrayList<>(
                tcp.values().stream().map(ForwardListener::boundAddress).toList());
        udpForwards.values().forEach(u -> out.add(u.boundAddress()));
        return out;
    }

    /** Why the forwards are not all listening, or null when they are. */
    String notListening() {
        for (ForwardListener f : tcp.values()) {
            if (!f.isListening()) {
                return "forward " + f.spec() + " is not listening";
            }
        }
        for (UdpForwarder u : udpForwards.values()) {
            if (!u.isListening()) {
                return "UDP forward to " + u.spec().peerLabel() + "/" + u.spec().service() + " is not listening";
            }
        }
        return null;
    }

    /** Closes the TCP listeners; the UDP forwarders close with their engine. */
    void close() {
        for (ForwardListener f : tcp.values()) {
            try {
                f.close();
            } catch (RuntimeException e) {
                log.debug("closing forward: {}", e.toString());
            }
        }
        tcp.clear();
        udpForwards.clear();
    }
}
