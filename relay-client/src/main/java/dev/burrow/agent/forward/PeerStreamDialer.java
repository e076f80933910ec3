package dev.burrow.agent.forward;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.agent.service.StreamDefaults;
import dev.burrow.agent.stream.EarlyInput;
import dev.burrow.agent.stream.PeerStreamCodec;
import dev.burrow.agent.stream.PeerStreamDecodeException;
import dev.burrow.agent.stream.PeerStreamMessage;
import dev.burrow.agent.stream.PreambleDecoder;
import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.HeapCumulator;
import dev.burrow.identity.tls.NodeTls;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import javax.net.ssl.SSLException;

/**
 * The dialer's side of a peer stream: opens a raw stream over a {@link PeerPath}, runs TLS 1.3 with
 * this node's certificate while pinning the listener's key (the handshake fails for any other
 * node), sends OPEN and waits for the listener's STATUS. On a stream whose path already
 * authenticated the peer ({@link PeerPath#PATH_SESSION}: the direct path's QUIC connection) there
 * is no TLS inside the stream: the peer is verified from the path's session, and OPEN goes out at
 * once, in the same write as the path's stream header.
 */
public final class PeerStreamDialer {
    /**
     * Streams being opened at once on a path that needs a relay circuit and a TLS handshake per
     * stream. The listener runs those handshakes on one event loop; 16 keeps a burst from timing out
     * handshakes (and stays well inside the relay client's 64 pending circuits and the relay's 16
     * pending circuits per dialer at one listener). A burst of local connections waits here (their
     * sockets unread) instead of failing.
     */
    public static final int MAX_OPENING = 16;
    /**
     * Streams being opened at once in all, counting those on a path that multiplexes
     * ({@link PeerPath#multiplexes}: a relay session that is up, the direct path's QUIC connection).
     * Such a stream costs a frame, not a circuit and a handshake, and the listener caps them itself
     * (a session's SETTINGS_MAX_CONCURRENT_STREAMS and stream opens per second, QUIC's stream
     * credit), so a burst of 100 new connections takes one round trip instead of
     * {@code ceil(100 / MAX_OPENING)} = 7. 256 is one session's concurrent streams.
     */
    public static final int MAX_OPENING_MULTIPLEXED = 256;
    /** Opens waiting for a slot; beyond this a burst is refused rather than queued without bound. */
    public static final int MAX_WAITING = 4096;

    /** An open waiting for a slot. */
    private record Waiting(PeerPath path, NodeKey peer, Consumer<Boolean> start) {}

    // Final after construction.
    private final NodeVerifier verifier;
    private final PeerClientContexts contexts;

    // Any thread, under lock: the opens under way (all, and those that need a handshake of their
    // own) and the queue of opens waiting for a slot (at most MAX_WAITING, first come first served).
    private final Object lock = new Object();
    private final ArrayDeque<Waiting> waiting = new ArrayDeque<>();
    private int opening;
    private int handshaking;

    public PeerStreamDialer(NodeIdentity identity, NodeVerifier verifier) {
        this.verifier = verifier;
        this.contexts = new PeerClientContexts(identity, verifier);
    }

    /** Client TLS contexts built so far: one per peer dialled, not one per stream. */
    long tlsContextsBuilt() {
        return contexts.built();
    }

    /**
     * Opens a stream to {@code service} on {@code peer}. Fails with {@link StreamRefusedException}
     * when the path or the listener refused, {@link TimeoutException} after
     * {@link StreamDefaults#OPEN_TIMEOUT}, or another exception when the path failed.
     */
    public CompletableFuture<PeerStream> open(PeerPath path, NodeKey peer, String service) {
        return open(path, peer, service, null);
    }

    /** As {@link #open(PeerPath, NodeKey, String)}, asking the path for a channel on {@code near} (see {@link PeerPath}). */
    public CompletableFuture<PeerStream> open(PeerPath path, NodeKey peer, String service, EventLoop near) {
        return open(path, peer, service, near, null);
    }

    /**
     * As {@link #open(PeerPath, NodeKey, String, EventLoop)}; with {@code expectedName}
     * (a forward by name, {@code peer} as the relay resolved it) the stream is refused unless the
     * peer's verified certificate is CA-issued and carries exactly that name, so a relay that maps a
     * name to the wrong key only ever causes a refusal.
     */
    public CompletableFuture<PeerStream> open(
            PeerPath path, NodeKey peer, String service, EventLoop near, String expectedName) {
        return open(path, peer, service, near, expectedName, null);
    }

    /**
     * As {@link #open(PeerPath, NodeKey, String, EventLoop, String)}; on a stream whose path
     * authenticated the peer, {@code openSent} gets the stream channel (on its event loop) as soon
     * as OPEN is written, before STATUS: the caller may send its first bytes then (optimistic open,
     * {@link OptimisticSend}). Not called for streams that run TLS inside.
     */
    public CompletableFuture<PeerStream> open(
            PeerPath path,
            NodeKey peer,
            String service,
            EventLoop near,
            String expectedName,
            Consumer<Channel> openSent) {
        CompletableFuture<PeerStream> result = new CompletableFuture<>();
        synchronized (lock) {
            if (waiting.size() >= MAX_WAITING) {
                result.completeExceptionally(new StreamRefusedException(
                        StreamStatusCode.LIMIT_REACHED, "too many streams being opened at once", "this agent"));
                return result;
            }
            waiting.add(new Waiting(
                    path,
                    peer,
                    multiplexed -> openNow(path, peer, service, near, expectedName, openSent, result, multiplexed)));
        }
        drain();
        return result.orTimeout(StreamDefaults.OPEN_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Streams being opened now, and those of them that need a circuit and a handshake of their own (tests). */
    int[] opening() {
        synchronized (lock) {
            return new int[] {opening, handshaking};
        }
    }

    /**
     * Starts waiting opens, first come first served, while slots are free. Whether an open needs a
     * handshake slot is asked of its path when its turn comes, not when it was queued: the opens of a
     * burst that queued while a relay session was starting go out together once it is up. (A session
     * that dies between the question and the open sends that stream to a circuit of its own, on a
     * multiplexed slot; the relay's own limits still hold.)
     */
    private void drain() {
        while (true) {
            Waiting head;
            synchronized (lock) {
                head = waiting.peek();
            }
            if (head == null) {
                return;
            }
            boolean multiplexed =
                    head.path().multiplexes(head.peer()); // outside the lock: paths take locks of their own
            synchronized (lock) {
                if (waiting.peek() != head) {
                    continue; // another thread started it
                }
                if (opening >= MAX_OPENING_MULTIPLEXED || (!multiplexed && handshaking >= MAX_OPENING)) {
                    return; // the next release drains again
                }
                waiting.poll();
                opening++;
                if (!multiplexed) {
                    handshaking++;
                }
            }
            head.start().accept(multiplexed);
        }
    }

    private void released(boolean multiplexed) {
        synchronized (lock) {
            opening--;
            if (!multiplexed) {
                handshaking--;
            }
        }
        drain();
    }

    private void openNow(
            PeerPath path,
            NodeKey peer,
            String service,
            EventLoop near,
            String expectedName,
            Consumer<Channel> openSent,
            CompletableFuture<PeerStream> result,
            boolean multiplexed) {
        result.whenComplete((s, e) -> released(multiplexed));
        if (result.isDone()) {
            return;
        }
        path.open(peer, service, near).whenComplete((ch, err) -> {
            if (err != null) {
                result.completeExceptionally(unwrap(err));
                return;
            }
            if (result.isDone()) {
                ch.close(); // timed out while the path was opening
                return;
            }
            ch.eventLoop().execute(() -> {
                if (ch.hasAttr(PeerPath.PATH_SESSION)
                        && ch.attr(PeerPath.PATH_SESSION).get() != null) {
                    startAuthenticated(ch, path.name(), peer, service, expectedName, openSent, result);
                } else {
                    startTls(ch, path.name(), peer, service, expectedName, result);
                }
            });
        });
    }

    private static Throwable unwrap(Throwable t) {
        return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
    }

    /**
     * A stream of a path that authenticated the peer: verify the peer from the path's session
     * (same verifier, same pinned key, same name check as after a TLS handshake), then send the
     * path's prefix and OPEN in one write and wait for STATUS.
     */
    private void startAuthenticated(
            Channel ch,
            String pathName,
            NodeKey peer,
            String service,
            String expectedName,
            Consumer<Channel> openSent,
            CompletableFuture<PeerStream> result) {
        byte[] prefix = ch.attr(PeerPath.STREAM_PREFIX).getAndSet(null);
        VerifiedPeer verified;
        try {
            verified = NodeTls.verifiedPeer(ch.attr(PeerPath.PATH_SESSION).get(), verifier, peer);
        } catch (Exception e) {
            ch.close();
            result.completeExceptionally(
                    new SSLException("peer " + peer.shortId() + " does not verify: " + e.getMessage()));
            return;
        }
        if (expectedName != null && !(verified.caIssued() && expectedName.equals(verified.name()))) {
            ch.close();
            result.completeExceptionally(wrongName(peer, expectedName, verified));
            return;
        }
        try {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        } catch (RuntimeException ignored) {
            // not a socket
        }
        DialHandler handler = new DialHandler(null, pathName, peer, service, expectedName, result);
        handler.verified = verified;
        ch.pipeline().addLast(new PreambleDecoder());
        ch.pipeline().addLast("burrow-dial", handler);
        result.whenComplete((s, e) -> {
            if (e != null) {
                ch.close();
            }
        });
        ByteBuf open = PeerStreamCodec.encode(PeerStreamMessage.Open.of(service), ch.alloc());
        ByteBuf first = open;
        if (prefix != null) {
            first = ch.alloc().buffer(prefix.length + open.readableBytes());
            first.writeBytes(prefix).writeBytes(open);
            open.release();
        }
        ch.writeAndFlush(first).addListener(w -> {
            if (!w.isSuccess()) {
                result.completeExceptionally(w.cause());
            }
        });
        ch.config().setAutoRead(true);
        ch.read();
        if (openSent != null && !result.isDone()) {
            openSent.accept(ch);
        }
    }

    private static StreamRefusedException wrongName(NodeKey peer, String expectedName, VerifiedPeer verified) {
        // The relay resolved the name to this key, but the certificate (which the handshake bound
        // to the key) does not carry the name: never send OPEN to a node we did not ask for.
        return new StreamRefusedException(
                StreamStatusCode.NOT_ALLOWED,
                "node "
                        + peer.shortId() + " is not named " + expectedName + " (its certificate says "
                        + (verified.caIssued() ? verified.name() : "nothing: not CA-issued")
                        + "); the relay's name answer was wrong",
                "this agent");
    }

    private void startTls(
            Channel ch,
            String pathName,
            NodeKey peer,
            String service,
            String expectedName,
            CompletableFuture<PeerStream> result) {
        SslHandler ssl;
        try {
            ssl = HeapCumulator.install(contexts.forPeer(peer).newHandler(ch.alloc()));
        } catch (SSLException e) {
            ch.close();
            result.completeExceptionally(e);
            return;
        }
        ssl.setHandshakeTimeoutMillis(StreamDefaults.TLS_HANDSHAKE_TIMEOUT.toMillis());
        try {
            ch.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        } catch (RuntimeException ignored) {
            // not a socket
        }
        DialHandler handler = new DialHandler(ssl, pathName, peer, service, expectedName, result);
        ch.pipeline().addLast("burrow-peer-tls", ssl);
        ch.pipeline().addLast(new PreambleDecoder());
        ch.pipeline().addLast("burrow-dial", handler);
        Runnable start = ch.attr(PeerPath.START_HOOK).getAndSet(null);
        if (start != null) {
            start.run();
        }
        result.whenComplete((s, e) -> {
            if (e != null) {
                ch.close();
            }
        });
        ch.config().setAutoRead(true);
        ch.read();
    }

    /**
     * Runs the dialer's half of the preamble, then hands what follows STATUS to an {@link EarlyInput}
     * hold. {@code ssl} is null on a path-authenticated stream (OPEN already sent, peer verified).
     */
    final class DialHandler extends ChannelInboundHandlerAdapter {
        private final SslHandler ssl;
        private final String pathName;
        private final NodeKey peer;
        private final String service;
        private final String expectedName;
        private final CompletableFuture<PeerStream> result;
        private ChannelHandlerContext ctx;
        private VerifiedPeer verified;
        private boolean statusSeen;

        DialHandler(
                SslHandler ssl,
                String pathName,
                NodeKey peer,
                String service,
                String expectedName,
                CompletableFuture<PeerStream> result) {
            this.expectedName = expectedName;
            this.ssl = ssl;
            this.pathName = pathName;
            this.peer = peer;
            this.service = service;
            this.result = result;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof SslHandshakeCompletionEvent hs) {
                if (!hs.isSuccess()) {
                    result.completeExceptionally(new SSLException(
                            "TLS with peer " + peer.shortId() + " failed: "
                                    + hs.cause().getMessage(),
                            hs.cause()));
                    ctx.close();
                    return;
                }
                try {
                    verified = NodeTls.verifiedPeer(ssl, verifier, peer);
                } catch (Exception e) {
                    result.completeExceptionally(
                            new SSLException("peer " + peer.shortId() + " does not verify: " + e.getMessage()));
                    ctx.close();
                    return;
                }
                if (expectedName != null && !(verified.caIssued() && expectedName.equals(verified.name()))) {
                    result.completeExceptionally(wrongName(peer, expectedName, verified));
                    ctx.close();
                    return;
                }
                ctx.writeAndFlush(PeerStreamCodec.encode(PeerStreamMessage.Open.of(service), ctx.alloc()));
                return;
            }
            if (evt instanceof ChannelInputShutdownEvent && !statusSeen) {
                // The path's transport ended its input before STATUS (the relay died, the listener
                // went away): with half-closure on, the channel stays active, so without this the
                // open would wait for OPEN_TIMEOUT while the local client hangs.
                result.completeExceptionally(new IOException("stream to " + peer.shortId() + " ended before STATUS"));
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (statusSeen) {
                // Service bytes the listener sent right after STATUS (in the same read): the hold
                // after this handler keeps them, and the end of input that may follow, for the splice.
                ctx.fireChannelRead(msg);
                return;
            }
            if (!(msg instanceof PeerStreamMessage.Status status)) {
                ReferenceCountUtil.release(msg);
                result.completeExceptionally(new StreamRefusedException(
                        StreamStatusCode.BAD_REQUEST, "listener sent something other than STATUS", "peer"));
                ctx.close();
                return;
            }
            statusSeen = true;
            if (!status.isOk()) {
                result.completeExceptionally(new StreamRefusedException(status.code(), status.message(), "peer"));
                ctx.close();
                return;
            }
            ctx.channel().config().setAutoRead(false);
            EarlyInput.installAfter(ctx);
            if (!result.complete(new PeerStream(ctx.channel(), ssl, verified, pathName, this))) {
                ctx.close(); // timed out meanwhile
            }
        }

        /** Removes this handler; what came after STATUS waits in the {@link EarlyInput} hold for the splice. */
        void detach() {
            ctx.pipeline().remove(this);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            result.completeExceptionally(new IOException("stream to " + peer.shortId() + " closed before STATUS"));
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof DecoderException d && d.getCause() instanceof PeerStreamDecodeException p) {
                result.completeExceptionally(new StreamRefusedException(
                        StreamStatusCode.BAD_REQUEST, "malformed STATUS: " + p.getMessage(), "peer"));
            } else {
                result.completeExceptionally(cause);
            }
            ctx.close();
        }
    }
}
