package dev.burrow.agent.session;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class OpenPacerTest {
    private static final long OPEN_INTERVAL = TimeUnit.SECONDS.toNanos(1) / SessionProtocol.MAX_STREAM_OPENS_PER_SECOND;

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final OpenPacer pacer = new OpenPacer(now::get);

    @Test
    void halfTheListenersBucketGoesAtOnceThenOpensAreSpacedAtItsRate() {
        for (int i = 0; i < OpenPacer.BURST; i++) {
            assertThat(pacer.takeDelayNanos()).as("open %d", i).isZero();
        }
        assertThat(pacer.takeDelayNanos()).isEqualTo(OPEN_INTERVAL);
        assertThat(pacer.takeDelayNanos()).isEqualTo(2 * OPEN_INTERVAL);
        now.addAndGet(2 * OPEN_INTERVAL); // both waited opens went out: the bucket is empty, not in debt
        assertThat(pacer.takeDelayNanos()).isEqualTo(OPEN_INTERVAL);
    }

    @Test
    void theWaitOfAFullSessionsWorthOfOpensIsBounded() {
        for (int i = 0; i < OpenPacer.BURST; i++) {
            pacer.takeDelayNanos();
        }
        long last = 0;
        for (int i = 0; i < SessionProtocol.MAX_CONCURRENT_STREAMS; i++) {
            last = pacer.takeDelayNanos();
        }
        assertThat(last).isEqualTo(SessionProtocol.MAX_CONCURRENT_STREAMS * OPEN_INTERVAL);
        assertThat(TimeUnit.NANOSECONDS.toMillis(last)).isEqualTo(128);
    }

    @Test
    void anIdleSecondRefillsTheBurstButNoMore() {
        for (int i = 0; i < OpenPacer.BURST + 10; i++) {
            pacer.takeDelayNanos();
        }
        now.addAndGet(TimeUnit.SECONDS.toNanos(5));
        for (int i = 0; i < OpenPacer.BURST; i++) {
            assertThat(pacer.takeDelayNanos()).as("open %d", i).isZero();
        }
        assertThat(pacer.takeDelayNanos()).isPositive();
    }

    @Test
    void withinAnySecondTheListenersBucketIsNeverEmptied() {
        // the listener takes MAX_STREAM_OPENS_PER_SECOND at once and refills at that rate: replay the
        // paced send times against it, each open sent when its wait ends
        double listenerTokens = SessionProtocol.MAX_STREAM_OPENS_PER_SECOND;
        long lastArrival = now.get();
        long lowest = Long.MAX_VALUE;
        for (int i = 0; i < 20_000; i++) {
            long sentAt = now.get() + pacer.takeDelayNanos();
            listenerTokens = Math.min(
                    SessionProtocol.MAX_STREAM_OPENS_PER_SECOND,
                    listenerTokens
                            + Math.max(0, sentAt - lastArrival) / 1e9 * SessionProtocol.MAX_STREAM_OPENS_PER_SECOND);
            lastArrival = Math.max(lastArrival, sentAt);
            listenerTokens -= 1;
            lowest = Math.min(lowest, (long) listenerTokens);
            now.addAndGet(OPEN_INTERVAL / 3); // a dialer asking three times faster than the rate
        }
        assertThat(lowest).isGreaterThanOrEqualTo(SessionProtocol.MAX_STREAM_OPENS_PER_SECOND / 2 - 1);
    }
}
