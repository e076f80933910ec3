package dev.burrow.agent.session;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.tls.NodeTls;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2LocalFlowController;
import io.netty.handler.codec.http2.Http2Stream;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.security.cert.X509Certificate;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Waits for the session TLS handshake within {@link SessionProtocol#SETUP_TIMEOUT}, checks the peer
 * (the dialer: the key it pinned; the listener: the node the relay says opened the circuit, or on a
 * direct TCP session any node whose certificate verifies; some service must admit it), then removes
 * itself and hands the channel to {@link #secured}.
 */
abstract class SessionSetup extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(SessionSetup.class);
    private final NodeKey peer;
    private final SslHandler ssl;
    private final NodeVerifier verifier;
    /** Null on the dialer's side (it chose the peer); the listener's admission rule otherwise. */
    private final Predicate<VerifiedPeer> admits;

    private final AgentMetrics metrics;
    private ScheduledFuture<?> deadline;
    private boolean done;

    SessionSetup(
            NodeKey peer, SslHandler ssl, NodeVerifier verifier, Predicate<VerifiedPeer> admits, AgentMetrics metrics) {
        this.peer = peer;
        this.ssl = ssl;
        this.verifier = verifier;
        this.admits = admits;
        this.metrics = metrics;
    }

    /** TLS is done and {@code peer} verified (the key the dialer pinned, or whoever the listener's certificate check named). */
    abstract void secured(ChannelHandlerContext ctx, SSLSession tls, VerifiedPeer peer);

    abstract void failed(Throwable cause);

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        deadline = ctx.executor()
                .schedule(
                        () -> fail(ctx, new SSLException("session set-up timed out")),
                        SessionProtocol.SETUP_TIMEOUT.toMillis(),
                        TimeUnit.MILLISECONDS);
    }

    private void fail(ChannelHandlerContext ctx, Throwable cause) {
        if (done) {
            return;
        }
        done = true;
        deadline.cancel(false);
        failed(cause);
        ctx.close();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent hs) {
            if (!hs.isSuccess()) {
                fail(ctx, hs.cause());
                return;
            }
            VerifiedPeer v;
            try {
                // dialer: the pinned key; listener: the node the relay says opened the circuit, or
                // on a direct TCP session (peer null) the key the certificate names: TLS has just
                // proven its possession, and the admission rule then judges that identity
                v = NodeTls.verifiedPeer(ssl, verifier, peer != null ? peer : claimedKey());
                if (admits != null && !admits.test(v)) {
                    metrics.relaySessionError(AgentMetrics.SessionError.NOT_ALLOWED);
                    fail(ctx, new SSLException("no service here admits " + v.displayName()));
                    return;
                }
            } catch (Exception e) {
                fail(
                        ctx,
                        new SSLException("peer " + (peer == null ? "" : peer.shortId() + " ") + "does not verify: "
                                + e.getMessage()));
                return;
            }
            done = true;
            deadline.cancel(false);
            ctx.pipeline().remove(this);
            secured(ctx, ssl.engine().getSession(), v);
            return;
        }
        ReferenceCountUtil.release(evt);
    }

    private NodeKey claimedKey() throws Exception {
        var certs = ssl.engine().getSession().getPeerCertificates();
        return NodeCertificate.parse((X509Certificate) certs[0]).nodeKey();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        ReferenceCountUtil.release(msg); // nothing comes before the handshake ends
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        fail(ctx, new IOException("session circuit closed during set-up"));
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        fail(ctx, cause);
    }

    /** Tops the session's receive window up to {@link SessionProtocol#SESSION_WINDOW}. */
    static void expandSessionWindow(Http2FrameCodec codec) {
        try {
            Http2Stream conn = codec.connection().connectionStream();
            Http2LocalFlowController fc = codec.connection().local().flowController();
            int delta = SessionProtocol.SESSION_WINDOW - fc.windowSize(conn);
            if (delta > 0) {
                fc.incrementWindowSize(conn, delta);
            }
        } catch (Exception e) {
            log.debug("could not widen the session window: {}", e.toString());
        }
    }
}
