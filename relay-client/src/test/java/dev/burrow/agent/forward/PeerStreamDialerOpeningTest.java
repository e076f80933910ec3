package dev.burrow.agent.forward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.TestIdentities;
import io.netty.channel.Channel;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How many streams the dialer opens at once: a burst on a path that needs a circuit and a
 * handshake per stream goes out {@link PeerStreamDialer#MAX_OPENING} at a time, a burst on a path
 * that multiplexes (an up relay session, the direct path) all at once, so it costs one round trip
 * and not one per wave of 16. The path here holds every open until the test lets it go.
 */
class PeerStreamDialerOpeningTest {
    @TempDir
    Path tmp;

    /** A path whose opens stay pending until the test fails them; multiplexes as the test says. */
    static final class HeldPath implements PeerPath {
        final List<CompletableFuture<Channel>> opens = new CopyOnWriteArrayList<>();
        volatile boolean multiplexes;

        @Override
        public String name() {
            return "held";
        }

        @Override
        public CompletableFuture<Channel> open(NodeKey peer, String service) {
            CompletableFuture<Channel> f = new CompletableFuture<>();
            opens.add(f);
            return f;
        }

        @Override
        public boolean isUp() {
            return true;
        }

        @Override
        public boolean multiplexes(NodeKey peer) {
            return multiplexes;
        }

        /** Fails the opens started so far (the dialer's results fail with them) and returns how many. */
        int failAll() {
            int n = 0;
            for (CompletableFuture<Channel> f : opens) {
                if (f.completeExceptionally(new IOException("let go by the test"))) {
                    n++;
                }
            }
            return n;
        }
    }

    @Test
    void aBurstOnAPathThatMultiplexesGoesOutAtOnceAndOneThatHandshakesSixteenAtATime() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity bob = ids.node("bob");
        NodeKey alice = ids.node("alice").nodeKey();
        PeerStreamDialer dialer = new PeerStreamDialer(bob, ids.verifier());
        int burst = 100;

        HeldPath handshakes = new HeldPath();
        List<CompletableFuture<PeerStream>> first = new ArrayList<>();
        for (int i = 0; i < burst; i++) {
            first.add(dialer.open(handshakes, alice, "web"));
        }
        assertThat(handshakes.opens).hasSize(PeerStreamDialer.MAX_OPENING);
        assertThat(dialer.opening()).containsExactly(PeerStreamDialer.MAX_OPENING, PeerStreamDialer.MAX_OPENING);

        // the same queue once the path multiplexes (a session came up): the next release lets all go
        handshakes.multiplexes = true;
        assertThat(handshakes.failAll()).isEqualTo(PeerStreamDialer.MAX_OPENING);
        await().atMost(Duration.ofSeconds(10)).until(() -> handshakes.opens.size() == burst);
        assertThat(dialer.opening()).containsExactly(burst - PeerStreamDialer.MAX_OPENING, 0);
        handshakes.failAll();
        for (CompletableFuture<PeerStream> f : first) {
            assertThat(failed(f)).isTrue();
        }
        assertThat(dialer.opening()).containsExactly(0, 0);

        HeldPath multiplexed = new HeldPath();
        multiplexed.multiplexes = true;
        List<CompletableFuture<PeerStream>> second = new ArrayList<>();
        for (int i = 0; i < PeerStreamDialer.MAX_OPENING_MULTIPLEXED + 10; i++) {
            second.add(dialer.open(multiplexed, alice, "web"));
        }
        // capped in all, too: the last 10 wait for a slot
        assertThat(multiplexed.opens).hasSize(PeerStreamDialer.MAX_OPENING_MULTIPLEXED);
        assertThat(dialer.opening()).containsExactly(PeerStreamDialer.MAX_OPENING_MULTIPLEXED, 0);
        multiplexed.failAll();
        await().atMost(Duration.ofSeconds(10))
                .until(() -> multiplexed.opens.size() == PeerStreamDialer.MAX_OPENING_MULTIPLEXED + 10);
        multiplexed.failAll();
        for (CompletableFuture<PeerStream> f : second) {
            assertThat(failed(f)).isTrue();
        }
        assertThat(dialer.opening()).containsExactly(0, 0);
    }

    @Test
    void opensThatHandshakeLeaveRoomForNoMoreThanTheCapInAll() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        PeerStreamDialer dialer = new PeerStreamDialer(ids.node("bob"), ids.verifier());
        NodeKey alice = ids.node("alice").nodeKey();
        HeldPath multiplexed = new HeldPath();
        multiplexed.multiplexes = true;
        HeldPath handshakes = new HeldPath();
        for (int i = 0; i < PeerStreamDialer.MAX_OPENING_MULTIPLEXED - 4; i++) {
            dialer.open(multiplexed, alice, "web");
        }
        for (int i = 0; i < 10; i++) {
            dialer.open(handshakes, alice, "web");
        }
        // four slots were left in all: four handshaking opens started, six wait
        assertThat(handshakes.opens).hasSize(4);
        assertThat(dialer.opening()).containsExactly(PeerStreamDialer.MAX_OPENING_MULTIPLEXED, 4);
        multiplexed.failAll();
        await().atMost(Duration.ofSeconds(10)).until(() -> handshakes.opens.size() == 10);
        handshakes.failAll();
        await().atMost(Duration.ofSeconds(10)).until(() -> dialer.opening()[0] == 0);
        assertThat(dialer.opening()).containsExactly(0, 0);
    }

    private static boolean failed(CompletableFuture<PeerStream> f) throws InterruptedException {
        try {
            f.get(10, TimeUnit.SECONDS);
            return false;
        } catch (ExecutionException e) {
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return false;
        }
    }
}
