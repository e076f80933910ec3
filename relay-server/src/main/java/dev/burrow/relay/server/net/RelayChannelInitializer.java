package dev.burrow.relay.server.net;

import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.OptionalSslHandler;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * Pipeline of a new public connection: the connection gate (per-IP rate and handshakes in flight),
 * the handshake deadline, TLS (or, when plain circuits are on and the first bytes are not a TLS
 * record, nothing: such a connection may only attach a circuit), an HTTP/1.1 request decoder with
 * small limits, and the router.
 * Runs on the child's event loop: nothing here (or later) blocks the accept loop.
 */
public final class RelayChannelInitializer extends ChannelInitializer<Channel> {
    /** Request line: a method, one of our short paths and a version. */
    private static final int MAX_INITIAL_LINE = 1024;
    /** All headers of the one request; ingress controllers add a few, browsers more. */
    private static final int MAX_HEADERS = 8 * 1024;

    private final RelayContext rc;
    private final SslContext ssl;
    private final ChannelGroup all;

    public RelayChannelInitializer(RelayContext rc, SslContext sslOrNull, ChannelGroup all) {
        this.rc = rc;
        this.ssl = sslOrNull;
        this.all = all;
    }

    @Override
    protected void initChannel(Channel ch) {
        InetAddress ip = ch.remoteAddress() instanceof InetSocketAddress in ? in.getAddress() : null;
        ConnectionGate.Admission admission = rc.gate().tryAdmit(ip);
        if (admission == null) {
            ch.close();
            return;
        }
        all.add(ch);
        ch.pipeline()
                .addLast(
                        HandshakeDeadline.NAME,
                        new HandshakeDeadline(rc.config().timeouts().handshake(), admission, rc.metrics()));
        if (ssl != null && rc.config().tls().plainCircuits()) {
            // TLS, or plain bytes for a circuit connection: decided by the first bytes. HttpRouter
            // lets a connection without TLS do nothing but attach a circuit.
            ch.pipeline().addLast("tls", new OptionalSslHandler(ssl));
        } else if (ssl != null) {
            ch.pipeline().addLast("tls", ssl.newHandler(ch.alloc()));
        }
        ch.pipeline()
                .addLast(
                        "http",
                        new HttpServerCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                                .setMaxHeaderSize(MAX_HEADERS)
                                .setMaxChunkSize(8192)));
        ch.pipeline().addLast(HttpRouter.NAME, new HttpRouter(rc, ssl != null));
    }
}
