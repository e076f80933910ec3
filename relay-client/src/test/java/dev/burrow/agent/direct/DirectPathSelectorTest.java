package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.path.PeerPath;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.channel.Channel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** The selector never keeps new streams on a path its bulk streams measured slower, and keeps measuring both. */
class DirectPathSelectorTest {
    private static final NodeKey PEER = NodeIdentity.ephemeral("peer").nodeKey();
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private final AtomicLong now = new AtomicLong(1_000 * SECOND);
    private final DirectPathSelector selector = new DirectPathSelector(new RelayStub(), now::get, true);

    /** A stream that moved {@code mbit} megabits per second for 1 s (about 64 MiB at 500). */
    private void ended(String service, String path, long mbit) {
        selector.streamEnded(PEER, service, path, mbit * 1_000_000 / 8, SECOND);
    }

    private int relayChoicesOf(int streams, String service) {
        int n = 0;
        for (int i = 0; i < streams; i++) {
            if (selector.preferRelay(PEER, service)) {
                n++;
            }
        }
        return n;
    }

    @Test
    void nothingMeasuredMeansDirect() {
        assertThat(relayChoicesOf(100, "files")).isZero();
    }

    @Test
    void smallStreamsAndUnknownPathsSayNothing() {
        selector.streamEnded(PEER, "ssh", "relay", DirectPathSelector.BULK_SAMPLE_BYTES - 1, 1);
        selector.streamEnded(PEER, "ssh", "direct", DirectPathSelector.BULK_SAMPLE_BYTES - 1, SECOND * 100);
        ended("ssh", "carrier-pigeon", 10_000);
        assertThat(relayChoicesOf(100, "ssh")).isZero();
    }

    @Test
    void aSlowerDirectPathGetsOnlyProbes() {
        ended("files", "direct", 500);
        ended("files", "relay", 2_000);
        // 1 in PROBE_EVERY streams goes direct to measure it again
        assertThat(relayChoicesOf(160, "files")).isEqualTo(160 - 160 / DirectPathSelector.PROBE_EVERY);
        // another service of the same peer is not affected
        assertThat(relayChoicesOf(10, "ssh")).isZero();
    }

    @Test
    void withinTheMarginTheDirectPathStays() {
        ended("files", "direct", 1_000);
        ended("files", "relay", 1_200);
        assertThat(relayChoicesOf(50, "files")).isZero();
    }

    @Test
    void aFasterDirectProbeBringsStreamsBack() {
        ended("files", "direct", 500);
        ended("files", "relay", 2_000);
        assertThat(selector.preferRelay(PEER, "files")).isTrue();
        // the network changed: the direct probes now measure much faster (average of the samples)
        ended("files", "direct", 8_000);
        assertThat(relayChoicesOf(50, "files")).isZero();
    }

    @Test
    void oldSamplesAreForgotten() {
        ended("files", "direct", 500);
        ended("files", "relay", 2_000);
        assertThat(selector.preferRelay(PEER, "files")).isTrue();
        now.addAndGet(DirectPathSelector.SAMPLE_MAX_AGE.toNanos());
        assertThat(relayChoicesOf(50, "files")).isZero();
    }

    @Test
    void aServiceMeasuredOnlyDirectProbesTheRelayNowAndThen() {
        ended("files", "direct", 500);
        assertThat(relayChoicesOf(160, "files")).isEqualTo(160 / DirectPathSelector.PROBE_EVERY);
        ended("files", "relay", 400); // the relay is no faster: direct it stays, without further probes
        assertThat(relayChoicesOf(160, "files")).isZero();
    }

    @Test
    void measuringCanBeTurnedOffForBenchmarks() {
        DirectPathSelector always = new DirectPathSelector(new RelayStub(), now::get, false);
        always.streamEnded(PEER, "files", "direct", 1 << 30, SECOND * 10);
        always.streamEnded(PEER, "files", "relay", 1 << 30, SECOND);
        for (int i = 0; i < 50; i++) {
            assertThat(always.preferRelay(PEER, "files")).isFalse();
        }
    }

    private static final class RelayStub implements PeerPath {
        @Override
        public String name() {
            return "relay";
        }

        @Override
        public CompletableFuture<Channel> open(NodeKey peer, String service) {
            return CompletableFuture.failedFuture(new UnsupportedOperationException());
        }

        @Override
        public boolean isUp() {
            return true;
        }
    }
}
