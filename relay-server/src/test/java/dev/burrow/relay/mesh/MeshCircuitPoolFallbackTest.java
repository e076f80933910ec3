package dev.burrow.relay.mesh;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import io.netty.channel.DefaultEventLoop;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The pool's modes against a sibling that takes nothing: plain, then TLS, then none (one connection
 * per circuit, as for an older relay), each step after {@link MeshCircuitPool#FAILURES_BEFORE_FALLBACK}
 * failed opens; a relay without TLS skips the TLS step; a new link starts over.
 */
class MeshCircuitPoolFallbackTest {
    static final InetSocketAddress SIBLING = new InetSocketAddress("127.0.0.1", 4433);

    final DefaultEventLoop loop = new DefaultEventLoop();
    final List<Boolean> opens = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS);
    }

    MeshCircuitPool pool(FakeNode node, boolean relayTls) {
        return new MeshCircuitPool(
                loop,
                (address, tls, done) -> {
                    opens.add(tls);
                    done.accept(null); // refused before authentication
                },
                node.metrics(),
                relayTls,
                false,
                MeshCircuitPool.IDLE_PER_SIBLING);
    }

    static MeshCircuitPool.Mode taken(MeshCircuitPool pool) throws Exception {
        CompletableFuture<MeshCircuitPool.Mode> mode = new CompletableFuture<>();
        pool.take(SIBLING, (t, m) -> mode.complete(t == null ? m : null));
        return mode.get(5, TimeUnit.SECONDS);
    }

    @Test
    void aSiblingThatTakesNothingEndsWithOneConnectionPerCircuit() throws Exception {
        FakeNode node = new FakeNode(MeshHandshakeTest.id(1), MeshHandshakeTest.KEY);
        MeshCircuitPool pool = pool(node, true);
        Object link = new Object();
        pool.linkUp(SIBLING, link);
        await().atMost(Duration.ofSeconds(10)).until(() -> pool.mode(SIBLING) == MeshCircuitPool.Mode.NONE);

        assertThat(opens.getFirst()).as("plain first").isFalse();
        assertThat(opens).contains(true); // then TLS
        assertThat(opens.indexOf(true)).isGreaterThanOrEqualTo(MeshCircuitPool.FAILURES_BEFORE_FALLBACK);
        int opened = opens.size();
        assertThat(taken(pool)).isEqualTo(MeshCircuitPool.Mode.NONE);
        Thread.sleep(300); // bounded: no refill in mode NONE
        assertThat(opens).hasSize(opened);
        loop.submit(() -> {}).get(5, TimeUnit.SECONDS);
        assertThat(node.count(MeshEvent.CIRCUIT_POOL_FALLBACK)).isEqualTo(2);
        assertThat(node.count(MeshEvent.CIRCUIT_POOL_EMPTY))
                .as("no pool, not an empty pool")
                .isZero();

        // an old link's late down leaves the pool of a newer link alone; a new link starts over
        Object newer = new Object();
        pool.linkUp(SIBLING, newer);
        await().atMost(Duration.ofSeconds(5)).until(() -> opens.size() > opened);
        pool.linkDown(SIBLING, link);
        assertThat(pool.mode(SIBLING)).isNotNull();
        pool.linkDown(SIBLING, newer);
        await().atMost(Duration.ofSeconds(5)).until(() -> pool.mode(SIBLING) == null);
    }

    @Test
    void withoutRelayTlsThereIsNoTlsStep() throws Exception {
        FakeNode node = new FakeNode(MeshHandshakeTest.id(1), MeshHandshakeTest.KEY);
        MeshCircuitPool pool = pool(node, false);
        pool.linkUp(SIBLING, new Object());
        await().atMost(Duration.ofSeconds(10)).until(() -> pool.mode(SIBLING) == MeshCircuitPool.Mode.NONE);
        assertThat(opens).containsOnly(false);
        loop.submit(() -> {}).get(5, TimeUnit.SECONDS);
        assertThat(node.count(MeshEvent.CIRCUIT_POOL_FALLBACK)).isEqualTo(1);
    }
}
