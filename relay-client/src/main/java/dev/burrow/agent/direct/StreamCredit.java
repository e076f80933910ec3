package dev.burrow.agent.direct;

import dev.burrow.agent.stream.StreamRefusedException;
import dev.burrow.agent.stream.StreamStatusCode;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicStreamLimitChangedEvent;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.util.AttributeKey;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.function.Consumer;

/**
 * Outbound streams of a QUIC connection that wait for the peer's stream credit. The peer lets us
 * open a bounded number of streams at once (its initial_max_streams_bidi, 256 between agents) and
 * grants more (MAX_STREAMS) as earlier streams end. A burst of new connections opened while the
 * credit is used up would otherwise fail with STREAM_LIMIT_ERROR; here they wait, in order, until
 * Netty's QUIC codec reports new credit ({@link QuicStreamLimitChangedEvent}), within the dialer's
 * open timeout. All methods run on the connection's event loop.
 */
final class StreamCredit {
    /**
     * Opens that may wait for credit on one connection; more are refused with LIMIT_REACHED. One
     * connection's worth of streams (the credit an agent grants): a burst larger than that would
     * wait for streams that may never end.
     */
    static final int MAX_WAITING = 256;

    private record Waiting(Runnable open, Consumer<Throwable> fail) {}

    private static final AttributeKey<ArrayDeque<Waiting>> WAITING =
            AttributeKey.valueOf("burrow.direct.creditWaiting");

    private StreamCredit() {}

    /** Runs {@code open} now if the peer lets us open a stream and nobody waits before it, else queues it. */
    static void openWhenAllowed(QuicChannel qc, Runnable open, Consumer<Throwable> fail) {
        if (!qc.isActive()) {
            fail.accept(new IOException("QUIC connection closed"));
            return;
        }
        ArrayDeque<Waiting> waiting = qc.attr(WAITING).get();
        if ((waiting == null || waiting.isEmpty()) && qc.peerAllowedStreams(QuicStreamType.BIDIRECTIONAL) > 0) {
            open.run();
            return;
        }
        if (waiting == null) {
            ArrayDeque<Waiting> created = new ArrayDeque<>();
            qc.attr(WAITING).set(created);
            qc.closeFuture().addListener(f -> qc.eventLoop().execute(() -> failAll(created)));
            waiting = created;
        }
        if (waiting.size() >= MAX_WAITING) {
            fail.accept(new StreamRefusedException(
                    StreamStatusCode.LIMIT_REACHED,
                    "the peer's QUIC stream credit is used up and " + MAX_WAITING + " streams already wait for more",
                    "this agent"));
            return;
        }
        waiting.add(new Waiting(open, fail));
    }

    /** On {@link QuicStreamLimitChangedEvent}: starts waiting opens while the credit lasts. */
    static void creditChanged(QuicChannel qc) {
        ArrayDeque<Waiting> waiting = qc.attr(WAITING).get();
        while (waiting != null
                && !waiting.isEmpty()
                && qc.isActive()
                && qc.peerAllowedStreams(QuicStreamType.BIDIRECTIONAL) > 0) {
            waiting.poll().open().run();
        }
    }

    private static void failAll(ArrayDeque<Waiting> waiting) {
        Waiting w;
        while ((w = waiting.poll()) != null) {
            w.fail().accept(new IOException("QUIC connection closed while the stream waited for the peer's credit"));
        }
    }
}
