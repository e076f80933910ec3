package dev.burrow.relay.mesh;

import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import dev.burrow.relay.server.net.Denials;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.security.cert.CertificateEncodingException;
import java.util.Arrays;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HELLO and AUTH on a fresh mesh connection, either side (see {@link MeshAuth}). The dialer sends
 * HELLO at once; the acceptor answers a HELLO with its own HELLO and its AUTH; the dialer answers
 * with its AUTH. A relay that sees its own instance ID hangs up (self-mesh); a wrong MAC, another
 * version or any other frame closes the connection. Each outcome is counted; the key and MACs are
 * never logged.
 */
final class MeshHandshake extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(MeshHandshake.class);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** What happens once both sides proved the key. */
    interface Done {
        void authenticated(ChannelHandlerContext ctx, MeshProtocol.Purpose purpose, MeshFrame.Hello peer);

        /** The handshake failed ({@code self}: the peer is this relay). */
        default void failed(boolean self) {}
    }

    /** Both HELLO payloads of an authenticated connection (what CIRCUIT_BIND's MAC covers). */
    record Hellos(byte[] dialer, byte[] acceptor) {}

    // Final after construction.
    private final MeshNode mesh;
    private final MeshAuth.Role role;
    private final Done done;
    /** Acceptor only: this connection skipped the relay's TLS, so only a pooled circuit may use it. */
    private final boolean plain;

    // Owned by the channel's event loop.
    private MeshProtocol.Purpose purpose;
    private byte[] ownHello;
    private byte[] peerHello;
    private byte[] certHash;
    private MeshFrame.Hello peer;
    private boolean finished;
    /** Fingerprint of the key the peer proved (set when authenticated). */
    private byte[] provenKey;

    MeshHandshake(MeshNode mesh, MeshAuth.Role role, MeshProtocol.Purpose purposeOrNull, Done done) {
        this(mesh, role, purposeOrNull, done, false);
    }

    /**
     * @param plain the acceptor took this connection without TLS although it runs TLS: links (presence,
     *     names, circuit tokens) and token-carrying CIRCUIT_ATTACH need TLS, so any purpose but
     *     {@link MeshProtocol.Purpose#POOLED_CIRCUIT} is refused before AUTH
     */
    MeshHandshake(MeshNode mesh, MeshAuth.Role role, MeshProtocol.Purpose purposeOrNull, Done done, boolean plain) {
        this.mesh = mesh;
        this.role = role;
        this.purpose = purposeOrNull;
        this.done = done;
        this.plain = plain;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (role == MeshAuth.Role.DIALER) {
            sendHello(ctx);
        }
    }

    private void sendHello(ChannelHandlerContext ctx) {
        byte[] nonce = new byte[MeshProtocol.NONCE_LENGTH];
        RANDOM.nextBytes(nonce);
        MeshFrame.Hello hello =
                new MeshFrame.Hello(MeshProtocol.VERSION, purpose, mesh.instanceId(), nonce, mesh.relayId());
        ownHello = payloadBytes(hello);
        ctx.writeAndFlush(hello);
    }

    static byte[] payloadBytes(MeshFrame f) {
        ByteBuf b = Unpooled.buffer(MeshCodec.encodedLength(f));
        try {
            MeshCodec.encode(f, b);
            b.skipBytes(FrameLimits.HEADER_LENGTH);
            byte[] out = new byte[b.readableBytes()];
            b.readBytes(out);
            return out;
        } finally {
            b.release();
        }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (finished) {
            ctx.fireChannelRead(msg);
            return;
        }
        if (msg instanceof MeshFrame.Hello h && peer == null) {
            hello(ctx, h);
        } else if (msg instanceof MeshFrame.Auth a && peer != null) {
            auth(ctx, a);
        } else {
            ReferenceCountUtil.release(msg);
            fail(
                    ctx,
                    MeshEvent.PROTOCOL_ERROR,
                    "unexpected " + msg.getClass().getSimpleName() + " during the mesh handshake",
                    false);
        }
    }

    private void hello(ChannelHandlerContext ctx, MeshFrame.Hello h) {
        if (h.version() != MeshProtocol.VERSION) {
            fail(
                    ctx,
                    MeshEvent.PROTOCOL_ERROR,
                    "mesh version " + h.version() + " not supported (we speak " + MeshProtocol.VERSION + ")",
                    false);
            return;
        }
        if (Arrays.equals(h.instanceId(), mesh.instanceId())) {
            fail(ctx, MeshEvent.SELF_MESH, "this relay reached itself", true);
            return;
        }
        if (plain && h.purpose() != MeshProtocol.Purpose.POOLED_CIRCUIT) {
            fail(ctx, MeshEvent.PROTOCOL_ERROR, "only pooled circuit connections may skip TLS", false);
            return;
        }
        if (role == MeshAuth.Role.DIALER && h.purpose() != purpose) {
            fail(ctx, MeshEvent.PROTOCOL_ERROR, "the acceptor changed the connection's purpose", false);
            return;
        }
        peer = h;
        purpose = h.purpose();
        peerHello = payloadBytes(h);
        try {
            certHash = certHash(ctx);
        } catch (SSLPeerUnverifiedException e) {
            fail(ctx, MeshEvent.AUTH_FAILED, "no TLS certificate to bind the mesh handshake to", false);
            return;
        }
        if (role == MeshAuth.Role.ACCEPTOR) {
            sendHello(ctx);
        }
        ctx.writeAndFlush(new MeshFrame.Auth(MeshAuth.mac(mesh.key(), role, ownHello, peerHello, certHash)));
    }

    private void auth(ChannelHandlerContext ctx, MeshFrame.Auth a) {
        MeshAuth.Role other = role == MeshAuth.Role.DIALER ? MeshAuth.Role.ACCEPTOR : MeshAuth.Role.DIALER;
        provenKey = MeshAuth.provenKey(mesh.key(), other, peerHello, ownHello, certHash, a.mac());
        if (provenKey == null) {
            fail(
                    ctx,
                    MeshEvent.AUTH_FAILED,
                    "mesh authentication failed (different mesh key, or TLS interception)",
                    false);
            return;
        }
        finished = true;
        MeshFrameDecoder decoder = ctx.pipeline().get(MeshFrameDecoder.class);
        if (decoder != null) {
            decoder.authenticated();
        }
        mesh.metrics().meshEvent(MeshEvent.AUTH_OK);
        (purpose == MeshProtocol.Purpose.LINK ? log.atInfo() : log.atDebug()) // one per circuit: not at INFO
                .addKeyValue("event", "mesh_authenticated")
                .addKeyValue("role", role)
                .addKeyValue("purpose", purpose)
                .addKeyValue("peer_relay", peer.relayId())
                .addKeyValue("remote", ctx.channel().remoteAddress())
                .log("mesh authenticated");
        done.authenticated(ctx, purpose, peer);
    }

    /**
     * The {@link MeshKey#fingerprint} of the key the peer proved, once authenticated (read it in
     * {@link Done#authenticated}, where this handler is still {@code ctx.handler()}).
     */
    byte[] provenKey() {
        return provenKey == null ? null : provenKey.clone();
    }

    /** Both HELLO payloads, once authenticated (read it in {@link Done#authenticated}); else null. */
    Hellos hellos() {
        if (provenKey == null) {
            return null;
        }
        return role == MeshAuth.Role.DIALER
                ? new Hellos(ownHello.clone(), peerHello.clone())
                : new Hellos(peerHello.clone(), ownHello.clone());
    }

    /** SHA-256 of the acceptor's certificate (as this side sees it), or zeros without TLS. */
    private byte[] certHash(ChannelHandlerContext ctx) throws SSLPeerUnverifiedException {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) {
            return MeshAuth.NO_CERTIFICATE;
        }
        SSLSession session = ssl.engine().getSession();
        Certificate[] chain =
                role == MeshAuth.Role.ACCEPTOR ? session.getLocalCertificates() : session.getPeerCertificates();
        if (chain == null || chain.length == 0) {
            throw new SSLPeerUnverifiedException("no certificate");
        }
        try {
            return MeshAuth.certHash(chain[0].getEncoded());
        } catch (CertificateEncodingException e) {
            throw new SSLPeerUnverifiedException("bad certificate");
        }
    }

    private void fail(ChannelHandlerContext ctx, MeshEvent event, String why, boolean self) {
        finished = true;
        mesh.metrics().meshEvent(event);
        if (self) {
            log.atInfo()
                    .addKeyValue("event", "mesh_self")
                    .addKeyValue("role", role)
                    .addKeyValue("remote", ctx.channel().remoteAddress())
                    .log("{}", why);
        } else {
            log.atWarn()
                    .addKeyValue("event", "mesh_handshake_failed")
                    .addKeyValue("role", role)
                    .addKeyValue("outcome", event.tag())
                    .addKeyValue("remote", ctx.channel().remoteAddress())
                    .log("{}", why);
        }
        done.failed(self);
        ctx.close();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        ProtocolViolation v = Denials.violation(cause);
        if (!finished) {
            fail(
                    ctx,
                    MeshEvent.PROTOCOL_ERROR,
                    v != null ? v.getMessage() : cause.getClass().getSimpleName(),
                    false);
        } else {
            ctx.fireExceptionCaught(cause);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (!finished && (evt instanceof ChannelInputShutdownEvent || evt instanceof SslCloseCompletionEvent)) {
            ctx.close();
        }
        super.userEventTriggered(ctx, evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        if (!finished) {
            finished = true;
            done.failed(false);
        }
        super.channelInactive(ctx);
    }
}
