package dev.burrow.agent.path;

import dev.burrow.agent.ingress.IngressGate;
import dev.burrow.agent.relay.CircuitAcceptor;
import dev.burrow.agent.relay.CircuitConnection;
import dev.burrow.agent.relay.CircuitDecision;
import dev.burrow.agent.relay.CircuitRejectedException;
import dev.burrow.agent.relay.IncomingCircuit;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayConnectionState;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.agent.service.InboundStreamGate;
import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.ServiceNames;
import io.netty.channel.Channel;
import io.netty.channel.EventLoop;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams over relay circuits: one circuit per stream. Outbound, {@link #open} asks the relay for a
 * circuit; inbound, the relay's offers go to the {@link InboundStreamGate} (its early refusals become
 * CIRCUIT_REJECT reasons; accepted circuits become {@link InboundStream}s).
 */
public final class RelayCircuitPath implements PeerPath {
    private static final Logger log = LoggerFactory.getLogger(RelayCircuitPath.class);
    public static final String NAME = "relay";

    // Final after construction.
    private final RelayClient client;

    // Any thread: set once while the agent is built, read per offer.
    /** Public-ingress circuits go here; null = refuse them all. */
    private volatile IngressGate ingress;
    /** Session circuits ({@link ServiceNames#SESSION_SERVICE}) go here; null = refused as an unknown service. */
    private volatile SessionCircuits sessions;

    public RelayCircuitPath(RelayClient client) {
        this.client = client;
    }

    /** Routes public-ingress offers (INGRESS flag) to {@code gate}; without it they are refused. */
    public void ingressInto(IngressGate gate) {
        this.ingress = gate;
    }

    /** Routes session circuit offers to {@code sessions} (relay sessions on). */
    public void sessionsInto(SessionCircuits sessions) {
        this.sessions = sessions;
    }

    /** Routes the relay's circuit offers to {@code gate}. */
    public void acceptInto(InboundStreamGate gate) {
        client.setCircuitAcceptor(new CircuitAcceptor() {
            @Override
            public CircuitDecision decide(IncomingCircuit offer) {
                if (offer.ingress()) {
                    // No dialer node and no end-to-end TLS: only a service that opted in to public ingress.
                    var g = ingress;
                    if (g == null || !offer.source().equals(client.nodeKey())) {
                        return CircuitDecision.reject(
                                CircuitRejectReason.NOT_ALLOWED, "public ingress is off on this agent");
                    }
                    var refusal = g.precheck(offer.service());
                    return refusal.isPresent()
                            ? CircuitDecision.reject(
                                    refusal.get().code().toCircuitReason(),
                                    refusal.get().message())
                            : CircuitDecision.accept();
                }
                var sess = sessions;
                if (sess != null && ServiceNames.isReserved(offer.service())) {
                    return sess.admitOffer(offer.source())
                            ? CircuitDecision.accept()
                            : CircuitDecision.reject(CircuitRejectReason.LIMIT_REACHED, "too many relay sessions");
                }
                Optional<InboundStreamGate.Refusal> r = gate.precheck(offer.source(), offer.service());
                if (r.isPresent()) {
                    gate.recordPrecheckRefusal(offer.source(), offer.service(), r.get());
                    InboundStreamGate.Refusal told = gate.toPeer(r.get(), offer.source());
                    return CircuitDecision.reject(told.code().toCircuitReason(), told.message());
                }
                return CircuitDecision.accept();
            }

            @Override
            public void attached(IncomingCircuit offer, CircuitConnection connection) {
                if (offer.ingress()) {
                    var g = ingress;
                    if (g == null) {
                        connection.close();
                        return;
                    }
                    g.accept(connection.channel(), offer.service());
                    connection.start();
                    return;
                }
                var sess = sessions;
                if (sess != null && ServiceNames.isReserved(offer.service())) {
                    sess.attached(connection, offer.source());
                    return;
                }
                gate.accept(new InboundStream(connection.channel(), NAME, offer.source(), offer.service()));
                connection.start();
            }

            @Override
            public void attachFailed(IncomingCircuit offer, Throwable cause) {
                log.debug(
                        "circuit from {} for '{}' did not attach: {}",
                        offer.source().shortId(),
                        offer.service(),
                        cause.toString());
            }
        });
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean isUp() {
        return client.state() == RelayConnectionState.CONNECTED;
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service) {
        return open(peer, service, null);
    }

    @Override
    public CompletableFuture<Channel> open(NodeKey peer, String service, EventLoop near) {
        return client.openCircuit(peer, service, near).handle((conn, err) -> {
            if (err != null) {
                Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
                if (cause instanceof CircuitRejectedException rej && !rej.local()) {
                    throw new CompletionException(new StreamRefusedException(
                            StreamStatusCode.fromCircuitReason(rej.reason()),
                            rej.remoteMessage().isEmpty() ? rej.reason().name() : rej.remoteMessage(),
                            rej.reason() == CircuitRejectReason.PEER_NOT_FOUND
                                            || rej.reason() == CircuitRejectReason.RELAY_DRAINING
                                    ? "relay"
                                    : "peer"));
                }
                throw new CompletionException(cause);
            }
            Channel ch = conn.channel();
            // Bytes that came with CIRCUIT_ATTACHED are held until the dialer's TLS handler is added.
            ch.attr(START_HOOK).set(conn::start);
            return ch;
        });
    }
}
