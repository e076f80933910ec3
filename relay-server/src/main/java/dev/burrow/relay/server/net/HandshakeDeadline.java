package dev.burrow.relay.server.net;

import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.HandshakeOutcome;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * First handler of every accepted connection: closes it unless it becomes established (authenticated
 * control connection, attached circuit end, or answered HTTP request) within the handshake timeout.
 * The deadline spans TCP-silent, partial TLS ClientHello and partial HTTP request (slowloris); it runs on
 * the child channel's event loop, so the accept path never waits on a handshake. Once established
 * the deadline is cancelled and the handler stays as a no-op pass-through.
 */
public final class HandshakeDeadline extends ChannelInboundHandlerAdapter {
    private static final Logger log = LoggerFactory.getLogger(HandshakeDeadline.class);
    public static final String NAME = "handshake-deadline";

    private final Duration timeout;
    private final ConnectionGate.Admission admission;
    private final RelayMetrics metrics;
    private ScheduledFuture<?> timer;
    private boolean done;
    private long acceptedNanos;

    public HandshakeDeadline(Duration timeout, ConnectionGate.Admission admission, RelayMetrics metrics) {
        this.timeout = timeout;
        this.admission = admission;
        this.metrics = metrics;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        Channel ch = ctx.channel();
        acceptedNanos = System.nanoTime();
        timer = ch.eventLoop()
                .schedule(
                        () -> {
                            if (!done) {
                                metrics.handshake(HandshakeOutcome.TIMEOUT);
                                log.atDebug()
                                        .addKeyValue("event", "handshake_timeout")
                                        .addKeyValue("remote", ch.remoteAddress())
                                        .log("handshake timeout");
                                ch.close();
                            }
                        },
                        timeout.toNanos(),
                        TimeUnit.NANOSECONDS);
    }

    /** Marks the channel established: the deadline no longer applies. Event loop only. */
    public static void established(Channel ch) {
        HandshakeDeadline d = ch.pipeline().get(HandshakeDeadline.class);
        if (d != null) {
            if (!d.done) {
                d.metrics.handshakeCompleted(System.nanoTime() - d.acceptedNanos);
            }
            d.finish();
        }
    }

    private void finish() {
        if (!done) {
            done = true;
            admission.release();
            if (timer != null) {
                timer.cancel(false);
            }
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        finish();
        super.channelInactive(ctx);
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        finish();
    }
}
