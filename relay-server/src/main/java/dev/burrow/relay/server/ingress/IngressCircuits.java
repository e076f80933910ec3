package dev.burrow.relay.server.ingress;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.circuit.IngressJoin;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.IngressOutcome;
import dev.burrow.relay.server.metrics.RelayMetrics;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ingress circuits between their offer to the listening agent and its attach: the offer, the
 * listener's reject, the attach (token and TLS checked, then the public client joined to the
 * listener's circuit connection with a PROXY v2 header), and the timeout that resets a client
 * whose listener never came.
 */
final class IngressCircuits {
    private static final Logger log = LoggerFactory.getLogger(IngressCircuits.class);

    // Final after construction.
    private final RelayMetrics metrics;
    private final Duration attachTimeout;
    private final boolean requireTlsAttach;

    // Concurrent (any event loop): a pending entry is removed exactly once (remove(key, value)).
    private final ConcurrentHashMap<CircuitId, Pending> pending = new ConcurrentHashMap<>();

    /** An ingress circuit offered to its listener, waiting for the listener's attach. */
    private record Pending(
            CircuitId id, CircuitToken token, Channel client, PublishedService service, ScheduledFuture<?> timeout) {}

    /**
     * @param attachTimeout how long a public client waits (unread) for the listener to attach
     * @param requireTlsAttach an ingress circuit may only be attached over TLS
     */
    IngressCircuits(RelayMetrics metrics, Duration attachTimeout, boolean requireTlsAttach) {
        this.metrics = metrics;
        this.attachTimeout = attachTimeout;
        this.requireTlsAttach = requireTlsAttach;
    }

    /** Offers the circuit of a new public connection to its listener; resets the client on timeout. */
    void offer(Channel ch, PublishedService svc) {
        CircuitId id = CircuitId.random();
        CircuitToken token = CircuitToken.random();
        ScheduledFuture<?> timeout = ch.eventLoop()
                .schedule(
                        () -> {
                            Pending p = pending.get(id);
                            if (p != null && pending.remove(id, p)) {
                                reset(ch, IngressOutcome.TIMEOUT, metrics);
                            }
                        },
                        attachTimeout.toNanos(),
                        TimeUnit.NANOSECONDS);
        Pending p = new Pending(id, token, ch, svc, timeout);
        pending.put(id, p);
        ch.closeFuture().addListener(f -> {
            if (pending.remove(id, p)) {
                timeout.cancel(false); // the client gave up before the listener attached
            }
        });
        RelayFrame.CircuitOffer offer = new RelayFrame.CircuitOffer(
                id, svc.owner.key(), svc.service, token, RelayFrame.CircuitOffer.FLAG_INGRESS);
        if (!svc.owner.enqueueControl(offer) && pending.remove(id, p)) {
            timeout.cancel(false);
            reset(ch, IngressOutcome.LISTENER_GONE, metrics);
        }
    }

    /** CIRCUIT_REJECT from {@code listener}: true when it was for one of ours (the client is reset). */
    boolean reject(ClientSession listener, ClientFrame.CircuitReject r) {
        Pending p = pending.get(r.circuitId());
        if (p == null || p.service().owner != listener || !pending.remove(p.id(), p)) {
            return false;
        }
        p.timeout().cancel(false);
        log.atInfo()
                .addKeyValue("event", "ingress_refused_by_listener")
                .addKeyValue("service", p.service().service)
                .addKeyValue("reason", r.reason())
                .log("ingress refused by listener");
        reset(p.client(), IngressOutcome.LISTENER_REFUSED, metrics);
        return true;
    }

    CircuitManager.AttachResult attach(Channel ch, ClientFrame.CircuitAttach a) {
        Pending p = pending.get(a.circuitId());
        if (p == null) {
            return null;
        }
        if (!MessageDigest.isEqual(p.token().bytes(), a.token().bytes())) {
            metrics.ingress(IngressOutcome.TOKEN_REFUSED);
            return CircuitManager.AttachResult.REFUSED;
        }
        if (requireTlsAttach && ch.pipeline().get(SslHandler.class) == null) {
            metrics.ingress(IngressOutcome.PLAIN_ATTACH_REFUSED);
            return CircuitManager.AttachResult.REFUSED; // the listener may still attach with TLS before the TTL
        }
        if (!pending.remove(p.id(), p)) {
            return CircuitManager.AttachResult.REFUSED; // consumed, timed out or refused meanwhile
        }
        p.timeout().cancel(false);
        Channel client = p.client();
        if (!client.isActive()) {
            return CircuitManager.AttachResult.REFUSED;
        }
        metrics.ingress(IngressOutcome.ACCEPTED);
        AtomicBoolean idled = new AtomicBoolean();
        IngressJoin.join(
                client,
                ch,
                ProxyHeaders.v2((InetSocketAddress) client.remoteAddress(), (InetSocketAddress) client.localAddress()),
                p.service().options.idleTimeout(),
                metrics,
                () -> {
                    if (idled.compareAndSet(false, true)) { // both ends idle out together: count the pair once
                        metrics.ingress(IngressOutcome.IDLE_CLOSED);
                    }
                });
        return CircuitManager.AttachResult.JOINED;
    }

    /** The listener left: its public clients waiting for an attach are reset. */
    void dropFor(ClientSession owner) {
        for (Pending p : List.copyOf(pending.values())) {
            if (p.service().owner == owner && pending.remove(p.id(), p)) {
                p.timeout().cancel(false);
                reset(p.client(), IngressOutcome.LISTENER_GONE, metrics);
            }
        }
    }

    /** Shutdown: every waiting public client is closed. */
    void closeAll() {
        for (Pending p : List.copyOf(pending.values())) {
            if (pending.remove(p.id(), p)) {
                p.timeout().cancel(false);
                p.client().close();
            }
        }
    }

    /** Counts {@code outcome} and resets the public client (RST, not FIN: it never got a service). */
    static void reset(Channel client, IngressOutcome outcome, RelayMetrics metrics) {
        metrics.ingress(outcome);
        try {
            client.config().setOption(ChannelOption.SO_LINGER, 0);
        } catch (RuntimeException ignored) {
            // not a socket
        }
        client.close();
    }
}
