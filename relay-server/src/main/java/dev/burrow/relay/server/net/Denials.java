package dev.burrow.relay.server.net;

import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.channel.Channel;
import io.netty.handler.codec.DecoderException;
import java.util.concurrent.TimeUnit;
import org.slf4j.LoggerFactory;

/** Sending DENY and closing, and recognising protocol violations. */
public final class Denials {
    /** A DENY that cannot be flushed (peer not reading) must not keep the channel: close after this long anyway. */
    private static final long DENY_FLUSH_GRACE_MILLIS = 1000;

    private Denials() {}

    /** Writes DENY and closes once it is flushed (or after a short grace, whichever comes first). */
    public static void denyAndClose(Channel ch, DenyReason reason, String message) {
        if (!ch.isActive()) {
            return;
        }
        ch.writeAndFlush(new RelayFrame.Deny(reason, message == null ? reason.description() : message))
                .addListener(f -> {
                    if (!f.isSuccess()) {
                        LoggerFactory.getLogger(Denials.class)
                                .atDebug()
                                .addKeyValue("event", "deny_write_failed")
                                .addKeyValue("error", String.valueOf(f.cause()))
                                .log("deny write failed");
                    }
                    ch.close();
                });
        ch.eventLoop()
                .schedule(
                        () -> {
                            ch.close();
                        },
                        DENY_FLUSH_GRACE_MILLIS,
                        TimeUnit.MILLISECONDS);
    }

    /** The protocol violation behind {@code cause}, or null when it is not one (I/O, TLS, ...). */
    public static ProtocolViolation violation(Throwable cause) {
        Throwable t = cause;
        for (int i = 0; i < 4 && t != null; i++) {
            if (t instanceof ProtocolViolation v) {
                return v;
            }
            t = t instanceof DecoderException || t.getCause() != t ? t.getCause() : null;
        }
        return null;
    }
}
