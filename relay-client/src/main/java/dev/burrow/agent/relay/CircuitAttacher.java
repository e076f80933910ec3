package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.FramePolicy;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens a circuit connection to the relay of a control connection and attaches it with the
 * circuit's token: both ends of a circuit (the dialer after CIRCUIT_ACCEPTED, the listener after
 * accepting a CIRCUIT_OFFER) come here. Holds no state of its own beyond the link; what a relay
 * refused (circuits without relay TLS) is remembered on its control connection.
 */
final class CircuitAttacher {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Final after construction.
    private final RelayClientConfig config;
    private final RelayLink link;

    CircuitAttacher(RelayClientConfig config, RelayLink link) {
        this.config = config;
        this.link = link;
    }

    /**
     * Opens a circuit connection to the relay of {@code control} and attaches it: without relay TLS
     * when configured and the relay has not refused that on this control connection, else with it.
     */
    Future<CircuitConnection> attach(
            ControlHandler control,
            CircuitId circuitId,
            CircuitToken token,
            NodeKey peer,
            String service,
            boolean dialerSide,
            EventLoop on) {
        boolean plain = config.plainCircuits() && control.mode == ConnectMode.UPGRADE && !control.plainCircuitsRefused;
        if (!plain) {
            return attach(control, circuitId, token, peer, service, dialerSide, true, on);
        }
        Promise<CircuitConnection> result = link.loop().newPromise();
        var current = new AtomicReference<Future<CircuitConnection>>();
        result.addListener(f -> {
            var inner = current.get();
            if (f.isCancelled() && inner != null) {
                inner.cancel(false);
            }
        });
        Future<CircuitConnection> first = attach(control, circuitId, token, peer, service, dialerSide, false, on);
        current.set(first);
        first.addListener(f -> {
            if (result.isCancelled()) {
                if (f.isSuccess()) {
                    ((CircuitConnection) f.getNow()).close();
                }
                return;
            }
            if (f.isSuccess()) {
                result.trySuccess((CircuitConnection) f.getNow());
            } else if (f.cause() instanceof PlainCircuitRefused && !link.closed()) {
                // The relay does not take circuits without TLS (its operator turned them off): the
                // token was not presented, so it is still good. Once per control connection.
                control.plainCircuitsRefused = true;
                log.info("relay {} refuses circuit connections without relay TLS; using TLS for them", control.address);
                Future<CircuitConnection> retry =
                        attach(control, circuitId, token, peer, service, dialerSide, true, on);
                current.set(retry);
                retry.addListener(g -> {
                    if (g.isSuccess()) {
                        if (!result.trySuccess((CircuitConnection) g.getNow())) {
                            ((CircuitConnection) g.getNow()).close();
                        }
                    } else {
                        result.tryFailure(g.cause());
                    }
                });
            } else {
                result.tryFailure(f.cause());
            }
        });
        return result;
    }

    /** A circuit connection without relay TLS ended before the relay switched protocols. */
    private static final class PlainCircuitRefused extends IOException {
        PlainCircuitRefused(Throwable cause) {
            super("relay refused a circuit connection without TLS: " + cause, cause);
        }
    }

    /** Opens and attaches one circuit connection, with relay TLS or without. */
    Future<CircuitConnection> attach(
            ControlHandler control,
            CircuitId circuitId,
            CircuitToken token,
            NodeKey peer,
            String service,
            boolean dialerSide,
            boolean relayTls,
            EventLoop on) {
        EventLoop loop = link.loop();
        Promise<CircuitConnection> result = loop.newPromise();
        if (link.closed()) {
            result.setFailure(new RelayUnavailableException("relay client closed"));
            return result;
        }
        Promise<Channel> attached = loop.newPromise();
        CircuitAttachHandler handler = new CircuitAttachHandler(circuitId, token, attached);
        ChannelFuture cf;
        try {
            // The same relay instance as the control connection (its address, not a new DNS answer):
            // the circuit and its tokens live there.
            cf = link.dialer()
                    .connect(
                            on,
                            control.address,
                            control.remote,
                            control.mode,
                            RelayProtocol.CIRCUIT_PATH,
                            FramePolicy.CLIENT_AWAITING_ATTACHED,
                            null,
                            handler,
                            true,
                            relayTls);
        } catch (RuntimeException e) {
            result.setFailure(e);
            return result;
        }
        ScheduledFuture<?> timeout = loop.schedule(
                () -> {
                    handler.fail(new CircuitRejectedException(
                            CircuitRejectReason.TIMEOUT,
                            "circuit not attached within "
                                    + config.handshakeTimeout().toMillis() + " ms",
                            true));
                },
                config.handshakeTimeout().toNanos(),
                TimeUnit.NANOSECONDS);
        result.addListener(f -> {
            if (f.isCancelled()) {
                // evicted for a fairer share (listener side): the circuit connection goes now
                handler.fail(new CancellationException("circuit attach cancelled"));
                cf.channel().close();
            }
        });
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                handler.fail(f.cause());
            }
        });
        attached.addListener(f -> {
            timeout.cancel(false);
            if (f.isSuccess()) {
                Channel ch = cf.channel();
                CircuitConnection conn = new CircuitConnection(ch, circuitId, peer, service, dialerSide, control.mode);
                if (!result.trySuccess(conn)) {
                    ch.close();
                }
            } else {
                cf.channel().close();
                Throwable cause = f.cause();
                boolean beforeUpgrade = !handler.transportReady() && !(cause instanceof CircuitRejectedException);
                result.tryFailure(
                        !relayTls && beforeUpgrade && cf.isSuccess() ? new PlainCircuitRefused(cause) : cause);
            }
        });
        return result;
    }

    /** What a failed attach means to whoever waits for the circuit. */
    static CircuitRejectedException asCircuitFailure(Throwable cause) {
        if (cause instanceof CircuitRejectedException c) {
            return c;
        }
        if (cause instanceof RelayDeniedException d) {
            CircuitRejectReason reason = switch (d.reason()) {
                case TIMEOUT -> CircuitRejectReason.TIMEOUT;
                case RATE_LIMITED, SERVER_FULL -> CircuitRejectReason.LIMIT_REACHED;
                case DRAINING -> CircuitRejectReason.RELAY_DRAINING;
                case AUTH_FAILED, NOT_ALLOWED -> CircuitRejectReason.NOT_ALLOWED;
                default -> CircuitRejectReason.INTERNAL;
            };
            return new CircuitRejectedException(reason, d.relayMessage(), false, d);
        }
        return new CircuitRejectedException(
                CircuitRejectReason.INTERNAL, "attach failed: " + RelayLink.describe(cause), true, cause);
    }
}
