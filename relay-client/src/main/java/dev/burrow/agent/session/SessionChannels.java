package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.service.InboundStream;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.HeapCumulator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Predicate;
import javax.net.ssl.SSLSession;

/**
 * Runs a session (end-to-end TLS with the node certificates, then HTTP/2, one stream per forwarded
 * connection) on a connected byte stream, whatever carries it: a relay circuit ({@link RelaySessions})
 * or a direct TCP connection between the agents ({@link DirectSessions}). The carrier decides who
 * the peer may be and what happens when the session is up; the pipeline is the same.
 */
final class SessionChannels {
    private static final String TLS_HANDLER = "burrow-session-tls";
    private static final String SETUP_HANDLER = "burrow-session-setup";

    private SessionChannels() {}

    /** What the dialer's side reports: up at the listener's first SETTINGS, or failed. */
    interface DialerEvents {
        void up(RelaySession session);

        void failed(Throwable cause);
    }

    /**
     * The dialer's side, on {@code ch}'s event loop: TLS as client pinned to {@code peer}, then
     * HTTP/2; up once the listener's first SETTINGS arrive (it sends them only after admitting us).
     */
    static void dial(
            Channel ch,
            NodeKey peer,
            SslContext client,
            NodeVerifier verifier,
            AgentMetrics metrics,
            String pathName,
            DialerEvents events) {
        SslHandler ssl = addTls(ch, client);
        ch.pipeline().addLast(SETUP_HANDLER, new SessionSetup(peer, ssl, verifier, null, metrics) {
            @Override
            void secured(ChannelHandlerContext ctx, SSLSession tls, VerifiedPeer verified) {
                Http2FrameCodec codec = SessionProtocol.codec(true);
                ctx.pipeline().addLast(SessionProtocol.flushConsolidation());
                ctx.pipeline().addLast(codec);
                ctx.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter() {
                    @Override
                    public void handlerAdded(ChannelHandlerContext c) {
                        c.channel().close(); // a listener never opens streams on our session
                    }
                }));
                // Up at the listener's first SETTINGS: it sends them only once it has admitted us.
                // A listener that admits us nowhere closes the connection after TLS instead, and
                // streams opened on the session meanwhile would fail without the listener's reason.
                AtomicBoolean up = new AtomicBoolean();
                Runnable giveUp = ch::close;
                var deadline = ctx.executor()
                        .schedule(giveUp, SessionProtocol.SETUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
                ctx.pipeline().addLast(new FirstSettings(() -> {
                    deadline.cancel(false);
                    up.set(true);
                    events.up(new RelaySession(ch, peer, true, tls, metrics, pathName));
                }));
                ctx.pipeline().addLast(new SessionEnd(peer, metrics));
                SessionSetup.expandSessionWindow(codec);
                ch.closeFuture().addListener(x -> {
                    deadline.cancel(false);
                    if (!up.get()) {
                        events.failed(new IOException("peer closed the session before its HTTP/2 settings"));
                    }
                });
            }

            @Override
            void failed(Throwable cause) {
                events.failed(cause);
            }
        });
    }

    /**
     * The listener's side, on {@code ch}'s event loop: TLS as server, the peer verified ({@code
     * expectedPeer} when the carrier named it, else whoever the certificate names) and admitted by
     * {@code admits}, then HTTP/2 whose streams go to {@code gate}. {@code up} gets the session
     * before any stream; {@code failed} a set-up that did not finish (the channel is closed).
     */
    static void accept(
            Channel ch,
            NodeKey expectedPeer,
            SslContext server,
            NodeVerifier verifier,
            Predicate<VerifiedPeer> admits,
            Consumer<InboundStream> gate,
            AgentMetrics metrics,
            String pathName,
            Consumer<RelaySession> up,
            Consumer<Throwable> failed) {
        SslHandler ssl = addTls(ch, server);
        ch.pipeline().addLast(SETUP_HANDLER, new SessionSetup(expectedPeer, ssl, verifier, admits, metrics) {
            @Override
            void secured(ChannelHandlerContext ctx, SSLSession tls, VerifiedPeer verified) {
                RelaySession session =
                        new RelaySession(ctx.channel(), verified.nodeKey(), false, tls, metrics, pathName);
                up.accept(session);
                if (!ctx.channel().isActive()) {
                    return; // the carrier refused it (a limit)
                }
                Http2FrameCodec codec = SessionProtocol.codec(false);
                ctx.pipeline().addLast(SessionProtocol.flushConsolidation());
                ctx.pipeline().addLast(codec);
                ctx.pipeline().addLast(new Http2MultiplexHandler(new InboundSessionStreams(session, gate, metrics)));
                ctx.pipeline().addLast(new SessionEnd(verified.nodeKey(), metrics));
                SessionSetup.expandSessionWindow(codec);
            }

            @Override
            void failed(Throwable cause) {
                failed.accept(cause);
            }
        });
    }

    /** The session's TLS, last in {@code ch}'s pipeline, with the set-up deadline as its handshake timeout. */
    private static SslHandler addTls(Channel ch, SslContext context) {
        SslHandler ssl = HeapCumulator.install(context.newHandler(ch.alloc()));
        ssl.setHandshakeTimeoutMillis(SessionProtocol.SETUP_TIMEOUT.toMillis());
        ch.pipeline().addLast(TLS_HANDLER, ssl);
        return ssl;
    }
}
