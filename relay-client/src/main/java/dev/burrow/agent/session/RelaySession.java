package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.handler.codec.http2.DefaultHttp2PingFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLSession;

/**
 * One end-to-end session with a peer: a relay circuit whose end-to-end TLS (node certificates,
 * run once) carries HTTP/2, each forwarded connection one HTTP/2 stream. The dialer's side opens
 * streams ({@link #openStream}); the listener's side only accepts them (HTTP/2 server: a peer's
 * streams go to the gate, see {@link RelaySessions}). Either side's close, or the circuit's end,
 * ends every stream of the session (each as a reset).
 */
public final class RelaySession {
    // Final after construction.
    private final Channel channel;
    private final NodeKey peer;
    private final boolean dialer;
    private final SSLSession tls;
    private final AgentMetrics metrics;
    /** What carries it, as status and whois name the path: {@code relay} or {@code direct}. */
    private final String pathName;

    // Any thread.
    private final AtomicInteger streams = new AtomicInteger();
    private final AtomicLong idleSinceNanos = new AtomicLong(System.nanoTime());
    private final AtomicLong streamsOpened = new AtomicLong();
    private final OpenPacer pacer = new OpenPacer();
    private volatile boolean closedHere;

    RelaySession(Channel channel, NodeKey peer, boolean dialer, SSLSession tls, AgentMetrics metrics, String pathName) {
        this.channel = channel;
        this.pathName = pathName;
        this.peer = peer;
        this.dialer = dialer;
        this.tls = tls;
        this.metrics = metrics;
    }

    public NodeKey peer() {
        return peer;
    }

    /** The path name of the session's streams: {@code relay} (a relay circuit) or {@code direct} (a direct TCP connection). */
    public String pathName() {
        return pathName;
    }

    public boolean dialer() {
        return dialer;
    }

    /** The circuit channel carrying the session (its pipeline: relay transport, TLS, HTTP/2). */
    Channel channel() {
        return channel;
    }

    /** The session's end-to-end TLS session: the proof of the peer for every stream. */
    SSLSession tls() {
        return tls;
    }

    public boolean isUp() {
        return channel.isActive();
    }

    /** Streams open on this session now. */
    public int streams() {
        return streams.get();
    }

    /** Streams this session carried so far. */
    public long streamsOpened() {
        return streamsOpened.get();
    }

    /** Nanos ({@link System#nanoTime}) since which no stream has been open; meaningless while {@link #streams()} > 0. */
    long idleSinceNanos() {
        return idleSinceNanos.get();
    }

    /** Takes a stream slot: false when the session already carries {@link SessionProtocol#MAX_CONCURRENT_STREAMS}. */
    boolean reserveStream() {
        while (true) {
            int n = streams.get();
            if (n >= SessionProtocol.MAX_CONCURRENT_STREAMS) {
                return false;
            }
            if (streams.compareAndSet(n, n + 1)) {
                streamsOpened.incrementAndGet();
                return true;
            }
        }
    }

    void releaseStream() {
        if (streams.decrementAndGet() == 0) {
            idleSinceNanos.set(System.nanoTime());
        }
    }

    /**
     * Dialer: opens a stream to {@code service}. The channel has auto-read off and
     * {@link PeerPath#PATH_SESSION} set (the dialer then runs no TLS inside it and sends OPEN with
     * its first bytes at once). Null when the session is down or full: the caller uses a circuit.
     * Opens beyond the listener's rate wait here ({@link OpenPacer}, at most 128 ms) instead of
     * being refused there.
     */
    CompletableFuture<Channel> openStream(String service) {
        if (!dialer || !isUp() || !reserveStream()) {
            return null;
        }
        CompletableFuture<Channel> result = new CompletableFuture<>();
        long wait = pacer.takeDelayNanos();
        if (wait == 0) {
            open(service, result);
            return result;
        }
        metrics.relaySessionOpenPaced();
        try {
            channel.eventLoop().schedule(() -> open(service, result), wait, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) { // the session's loop is shutting down
            releaseStream();
            result.completeExceptionally(e);
        }
        return result;
    }

    /**
     * Opens a reserved stream now, whatever the rate: {@link #openStream} after its wait, and tests
     * that play a dialer without a pacer.
     */
    void open(String service, CompletableFuture<Channel> result) {
        new Http2StreamChannelBootstrap(channel)
                .option(ChannelOption.AUTO_READ, false)
                .handler(SessionStreamHandler.dialer(service, e -> {}))
                .open()
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        releaseStream();
                        result.completeExceptionally(f.cause());
                        return;
                    }
                    Http2StreamChannel ch = (Http2StreamChannel) f.getNow();
                    ch.closeFuture().addListener(x -> releaseStream());
                    ch.attr(PeerPath.PATH_SESSION).set(tls);
                    metrics.relaySessionStream(true);
                    if (!result.complete(ch)) {
                        ch.close();
                    }
                });
    }

    /** Sends an HTTP/2 PING: traffic that keeps an idle session's circuit from the relay's idle deadline. */
    void ping() {
        if (isUp()) {
            channel.writeAndFlush(new DefaultHttp2PingFrame(System.nanoTime()));
        }
    }

    public void close() {
        closedHere = true;
        channel.close();
    }

    /** True once this side asked the session to close (not the peer, not the circuit). */
    boolean closedHere() {
        return closedHere;
    }

    @Override
    public String toString() {
        return "RelaySession[" + (dialer ? "to " : "from ") + peer.shortId() + ", " + streams.get() + " streams]";
    }
}
