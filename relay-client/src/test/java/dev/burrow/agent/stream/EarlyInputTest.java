package dev.burrow.agent.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * What a transport delivers before the splice exists (epoll and io_uring read a half-closed socket
 * unasked; a TLS read can carry bytes and close_notify together with STATUS) reaches the splice in
 * order, and nothing held leaks.
 */
class EarlyInputTest {

    private static ByteBuf text(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    @Test
    void bytesAndEndOfInputHeldBeforeTheSpliceReachTheOtherEndInOrder() {
        EmbeddedChannel client = new EmbeddedChannel();
        EarlyInput.install(client);
        client.writeInbound(text("request "));
        client.writeInbound(text("and the rest"));
        client.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertThat((Object) client.readInbound())
                .as("held, not passed to the pipeline's tail")
                .isNull();

        EmbeddedChannel peer = new EmbeddedChannel();
        AtomicReference<SpliceOutcome> outcome = new AtomicReference<>();
        Splice splice = Splice.join(
                StreamEnd.plain(client, "client"),
                StreamEnd.plain(peer, "peer"),
                null,
                (aToB, bToA, o) -> outcome.set(o));
        client.runPendingTasks();
        peer.runPendingTasks();

        StringBuilder got = new StringBuilder();
        ByteBuf b;
        while ((b = peer.readOutbound()) != null) {
            got.append(b.toString(StandardCharsets.UTF_8));
            b.release();
        }
        assertThat(got.toString()).isEqualTo("request and the rest");
        assertThat(splice.bytesAtoB()).isEqualTo("request and the rest".length());
        assertThat(client.pipeline().get(EarlyInput.NAME)).as("handed over").isNull();
        // the client's end of input became the peer's end of output (an EmbeddedChannel has no
        // half-close, so its output shutdown closes it)
        assertThat(peer.isOpen()).isFalse();
        client.finishAndReleaseAll();
        peer.finishAndReleaseAll();
    }

    @Test
    void nothingHeldPassesThroughUntouched() {
        EmbeddedChannel a = new EmbeddedChannel();
        EmbeddedChannel b = new EmbeddedChannel();
        EarlyInput.install(a);
        Splice.join(StreamEnd.plain(a, "a"), StreamEnd.plain(b, "b"), null, null);
        a.writeInbound(text("after the join"));
        ByteBuf out = b.readOutbound();
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("after the join");
        out.release();
        assertThat(b.isOpen()).isTrue();
        a.finishAndReleaseAll();
        b.finishAndReleaseAll();
    }

    @Test
    void moreThanTheLimitBeforeTheSpliceClosesTheConnectionAndReleasesEverything() {
        EmbeddedChannel ch = new EmbeddedChannel();
        EarlyInput.install(ch);
        EarlyInput hold = (EarlyInput) ch.pipeline().get(EarlyInput.NAME);
        ByteBuf first = Unpooled.buffer(EarlyInput.MAX_HELD_BYTES).writeZero(EarlyInput.MAX_HELD_BYTES);
        ch.writeInbound(first);
        assertThat(hold.heldBytes()).isEqualTo(EarlyInput.MAX_HELD_BYTES);
        ByteBuf more = text("x");
        ch.writeInbound(more);
        assertThat(ch.isOpen()).isFalse();
        assertThat(first.refCnt()).isZero();
        assertThat(more.refCnt()).isZero();
        assertThat(hold.heldBytes()).isZero();
    }

    @Test
    void aChannelThatClosesBeforeTheSpliceReleasesWhatWasHeld() {
        EmbeddedChannel ch = new EmbeddedChannel();
        EarlyInput.install(ch);
        ByteBuf held = text("never spliced");
        ch.writeInbound(held);
        ch.close();
        ch.runPendingTasks();
        assertThat(held.refCnt()).isZero();
    }
}
