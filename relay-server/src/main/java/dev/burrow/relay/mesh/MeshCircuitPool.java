package dev.burrow.relay.mesh;

import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pre-opened, authenticated circuit connections to each sibling this relay has an outbound link to
 * (purpose {@link MeshProtocol.Purpose#POOLED_CIRCUIT}), so that a new cross-relay circuit costs no
 * TCP, TLS or mesh handshake round trip between the relays: it takes an idle connection and sends
 * CIRCUIT_BIND at once. Refilled in the background after every take, replaced after
 * {@link #IDLE_TIMEOUT}, closed when the sibling's link goes down and when the key file is reloaded
 * (so a pooled connection never outlives the key it proved).
 *
 * <p>Per sibling the pool runs in one of three modes, chosen by what the sibling takes: plain TCP
 * (the default: the circuit's bytes are the agents' end-to-end TLS), relay TLS (this relay's
 * {@code mesh.circuit-tls}, or a sibling whose {@code tls.plain-circuits} is off), or none (a sibling
 * of an older version that does not know pooled connections: each circuit opens its own TLS
 * connection with CIRCUIT_ATTACH, as before). A mode is only given up after
 * {@link #FAILURES_BEFORE_FALLBACK} failed opens in a row while the link is up; a new link starts
 * over with the configured mode.
 *
 * <p>Everything here runs on the mesh event loop; {@link #take} may be called from any thread.
 */
final class MeshCircuitPool {
    private static final Logger log = LoggerFactory.getLogger(MeshCircuitPool.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Idle connections kept per sibling: a burst of new circuits takes them while the refill (one
     * relay-to-relay handshake away) catches up; each costs one socket and a few KiB on both relays.
     */
    static final int IDLE_PER_SIBLING = 8;
    /** Opens in flight per sibling: a refill never floods a sibling that is slow to answer. */
    static final int MAX_OPENING_PER_SIBLING = 4;
    /**
     * An idle connection is closed (and replaced) after this long: it bounds how long a silently dead
     * (half-open) connection can sit in the pool, and stays below common conntrack and load-balancer
     * idle timers so that none cuts a pooled connection without telling us.
     */
    static final Duration IDLE_TIMEOUT = Duration.ofSeconds(60);
    /** Failed opens in a row (link still up) before the sibling's mode falls back a step. */
    static final int FAILURES_BEFORE_FALLBACK = 2;
    /** Backoff of the refill after a failed open: from the minimum, doubling up to the maximum. */
    static final Duration REFILL_BACKOFF_MIN = Duration.ofMillis(100);

    static final Duration REFILL_BACKOFF_MAX = Duration.ofSeconds(10);

    /** How a sibling's circuit connections are opened. */
    enum Mode {
        /** Pooled, plain TCP. */
        PLAIN,
        /** Pooled, relay TLS. */
        TLS,
        /** Not pooled: one TLS connection with CIRCUIT_ATTACH per circuit (a sibling of an older version). */
        NONE
    }

    /** An idle connection handed out by {@link #take}: the caller sends CIRCUIT_BIND on it. */
    record Taken(Channel channel, MeshHandshake.Hellos hellos) {}

    /** Opens one pooled connection; {@code done} gets it (authenticated, idle handler installed) or null. */
    interface Opener {
        void open(InetSocketAddress address, boolean tls, Consumer<Taken> done);
    }

    private final class Sibling {
        final InetSocketAddress address;
        /** The outbound link this pool lives with (an old link's late down never drops a newer pool). */
        final Object link;

        final ArrayDeque<Taken> idle = new ArrayDeque<>();
        Mode mode = initialMode;
        int opening;
        int failures;
        ScheduledFuture<?> refill;
        boolean closed;

        Sibling(InetSocketAddress address, Object link) {
            this.address = address;
            this.link = link;
        }
    }

    // Final after construction.
    private final EventLoop loop;
    private final Opener opener;
    private final RelayMetrics metrics;
    private final Mode initialMode;
    private final boolean relayTls;
    private final int idlePerSibling;

    // Mesh event loop only.
    private final Map<InetSocketAddress, Sibling> siblings = new HashMap<>();
    private boolean pausedForTests;

    /**
     * @param relayTls this relay runs TLS (otherwise every connection is plain and {@link Mode#TLS} is skipped)
     * @param circuitTls {@code mesh.circuit-tls}: pooled connections use relay TLS from the start
     */
    MeshCircuitPool(
            EventLoop loop, Opener opener, RelayMetrics metrics, boolean relayTls, boolean circuitTls, int idle) {
        this.loop = loop;
        this.opener = opener;
        this.metrics = metrics;
        this.relayTls = relayTls;
        this.initialMode = relayTls && circuitTls ? Mode.TLS : Mode.PLAIN;
        this.idlePerSibling = idle;
    }

    /** The outbound link {@code link} to {@code address} is up: start filling its pool. */
    void linkUp(InetSocketAddress address, Object link) {
        loop.execute(() -> {
            Sibling s = siblings.get(address);
            if (s != null) {
                drop(s);
            }
            s = new Sibling(address, link);
            siblings.put(address, s);
            refill(s);
        });
    }

    /** The outbound link {@code link} to {@code address} went down: its pool's idle connections are closed. */
    void linkDown(InetSocketAddress address, Object link) {
        loop.execute(() -> {
            Sibling s = siblings.get(address);
            if (s != null && s.link == link) {
                siblings.remove(address);
                drop(s);
            }
        });
    }

    /** The key file was reloaded: idle connections (which proved the old key set) are replaced. */
    void keyReloaded() {
        loop.execute(() -> {
            for (Sibling s : siblings.values()) {
                closeIdle(s);
                refill(s);
            }
        });
    }

    /** Closes everything (relay shutdown). */
    void close() {
        if (loop.isShuttingDown()) {
            return;
        }
        loop.execute(() -> {
            for (Sibling s : List.copyOf(siblings.values())) {
                drop(s);
            }
            siblings.clear();
        });
    }

    /**
     * An idle connection to {@code address} for a new circuit, on the mesh event loop: {@code got}
     * receives it, or null with the mode to open a connection in when none is idle (or the sibling
     * has no pool).
     */
    void take(InetSocketAddress address, TakeResult got) {
        loop.execute(() -> {
            Sibling s = siblings.get(address);
            if (s == null) {
                got.result(null, initialMode);
                return;
            }
            Taken t;
            while ((t = s.idle.poll()) != null) {
                Channel ch = t.channel();
                if (ch.isActive() && ch.pipeline().get(Idle.class) != null) {
                    ch.pipeline().remove(Idle.class);
                    metrics.meshEvent(MeshEvent.CIRCUIT_POOL_TAKEN);
                    refill(s);
                    got.result(t, s.mode);
                    return;
                }
                ch.close();
            }
            if (s.mode != Mode.NONE) {
                metrics.meshEvent(MeshEvent.CIRCUIT_POOL_EMPTY);
            }
            refill(s);
            got.result(null, s.mode);
        });
    }

    /** What {@link #take} found. */
    interface TakeResult {
        /** @param taken an idle connection, or null: open one in {@code mode} */
        void result(Taken taken, Mode mode);
    }

    /** Whether a connection opened in {@code mode} uses relay TLS. */
    boolean tls(Mode mode) {
        return relayTls && mode == Mode.TLS;
    }

    // ---------------------------------------------------------------- loop only

    private void refill(Sibling s) {
        if (s.closed || s.mode == Mode.NONE || s.refill != null || pausedForTests) {
            return;
        }
        while (s.idle.size() + s.opening < idlePerSibling && s.opening < MAX_OPENING_PER_SIBLING) {
            open(s);
        }
    }

    private void open(Sibling s) {
        s.opening++;
        Mode mode = s.mode;
        opener.open(s.address, tls(mode), t -> loop.execute(() -> opened(s, mode, t)));
    }

    private void opened(Sibling s, Mode mode, Taken t) {
        s.opening--;
        if (t == null) {
            failed(s, mode);
            return;
        }
        Channel ch = t.channel();
        if (s.closed || s.mode != mode || !ch.isActive()) {
            ch.close();
            refill(s);
            return;
        }
        s.failures = 0;
        s.idle.add(t);
        ScheduledFuture<?> expiry = loop.schedule(
                () -> {
                    if (s.idle.remove(t)) {
                        ch.close(); // replaced by the refill that the close triggers
                    }
                },
                IDLE_TIMEOUT.toMillis(),
                TimeUnit.MILLISECONDS);
        ch.closeFuture()
                .addListener(f -> loop.execute(() -> {
                    expiry.cancel(false);
                    if (s.idle.remove(t)) {
                        refill(s);
                    }
                }));
        refill(s);
    }

    private void failed(Sibling s, Mode mode) {
        if (s.closed || s.mode != mode) {
            return;
        }
        s.failures++;
        if (s.failures >= FAILURES_BEFORE_FALLBACK) {
            s.mode = mode == Mode.PLAIN && relayTls ? Mode.TLS : Mode.NONE;
            s.failures = 0;
            metrics.meshEvent(MeshEvent.CIRCUIT_POOL_FALLBACK);
            log.atWarn()
                    .addKeyValue("event", "mesh_circuit_pool_fallback")
                    .addKeyValue("address", s.address)
                    .addKeyValue("from", mode)
                    .addKeyValue("to", s.mode)
                    .log(
                            "a sibling took no {} pooled circuit connections; using {} until its link is re-established",
                            mode,
                            s.mode);
            if (s.mode == Mode.NONE) {
                closeIdle(s);
                return;
            }
        }
        long base = Math.min(REFILL_BACKOFF_MAX.toMillis(), REFILL_BACKOFF_MIN.toMillis() << Math.min(s.failures, 7));
        long delay = base / 2 + RANDOM.nextLong(base / 2 + 1);
        s.refill = loop.schedule(
                () -> {
                    s.refill = null;
                    refill(s);
                },
                delay,
                TimeUnit.MILLISECONDS);
    }

    private void drop(Sibling s) {
        s.closed = true;
        if (s.refill != null) {
            s.refill.cancel(false);
            s.refill = null;
        }
        closeIdle(s);
    }

    private static void closeIdle(Sibling s) {
        Taken t;
        while ((t = s.idle.poll()) != null) {
            t.channel().close();
        }
    }

    // ---------------------------------------------------------------- for tests

    /** Stops refilling and closes every idle connection (an exhausted pool); false refills again. */
    void exhaustForTests(boolean exhausted) throws Exception {
        loop.submit(() -> {
                    pausedForTests = exhausted;
                    for (Sibling s : siblings.values()) {
                        if (exhausted) {
                            closeIdle(s);
                        } else {
                            refill(s);
                        }
                    }
                })
                .get(5, TimeUnit.SECONDS);
    }

    /** Idle connections to {@code address} (0 when none or unknown). */
    int idleCount(InetSocketAddress address) throws Exception {
        return loop.submit(() -> {
                    Sibling s = siblings.get(address);
                    return s == null ? 0 : s.idle.size();
                })
                .get(5, TimeUnit.SECONDS);
    }

    /** Puts {@code address}'s pool in {@code mode} (NONE: as for a sibling of an older version). */
    void forceModeForTests(InetSocketAddress address, Mode mode) throws Exception {
        loop.submit(() -> {
                    Sibling s = siblings.get(address);
                    if (s != null) {
                        s.mode = mode;
                        closeIdle(s);
                        refill(s);
                    }
                })
                .get(5, TimeUnit.SECONDS);
    }

    /** The mode of {@code address}'s pool, or null when there is none. */
    Mode mode(InetSocketAddress address) throws Exception {
        return loop.submit(() -> {
                    Sibling s = siblings.get(address);
                    return s == null ? null : s.mode;
                })
                .get(5, TimeUnit.SECONDS);
    }

    /**
     * The handler of an idle pooled connection: nothing may arrive on it before CIRCUIT_BIND (the
     * acceptor only ever answers one), so any byte, a half-close or an error closes it; the pool
     * notices the close and refills.
     */
    static final class Idle extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
            ctx.close();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
            if (evt instanceof ChannelInputShutdownEvent) {
                ctx.close();
            }
            super.userEventTriggered(ctx, evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
