package dev.burrow.agent.direct;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** When {@link QuicLiveness} judges a QUIC connection's peer dead, from its packet counters and disco. */
class QuicLivenessTest {
    static final long LIMIT = QuicLiveness.SILENCE_LIMIT.toNanos();
    static final long T0 = 1_000_000_000L;
    static final long NO_DISCO = Long.MIN_VALUE / 2;

    QuicLiveness.Watch watch() {
        QuicLiveness.Watch w = new QuicLiveness.Watch(null, T0);
        w.observe(10, 20, T0);
        return w;
    }

    @Test
    void aPeerThatStopsAnsweringWhileWeSendIsDeadAfterTheLimit() {
        QuicLiveness.Watch w = watch();
        w.observe(10, 25, T0 + 1_000_000_000L); // retransmissions, nothing back
        assertThat(w.dead(NO_DISCO, T0 + LIMIT - 1)).isFalse();
        assertThat(w.dead(NO_DISCO, T0 + LIMIT)).isTrue();
    }

    @Test
    void anIdleConnectionIsNeverJudged() {
        QuicLiveness.Watch w = watch();
        w.observe(10, 20, T0 + 5 * LIMIT); // nothing sent, nothing received: the idle timeout's business
        assertThat(w.dead(NO_DISCO, T0 + 10 * LIMIT)).isFalse();
    }

    @Test
    void anyPacketFromThePeerRestartsTheClock() {
        QuicLiveness.Watch w = watch();
        w.observe(10, 30, T0 + LIMIT / 2);
        w.observe(11, 31, T0 + LIMIT - 1); // an ACK came back
        assertThat(w.dead(NO_DISCO, T0 + LIMIT + 1)).isFalse();
        w.observe(11, 40, T0 + LIMIT + 2);
        assertThat(w.dead(NO_DISCO, T0 + 2 * LIMIT - 2)).isFalse();
        assertThat(w.dead(NO_DISCO, T0 + 2 * LIMIT - 1)).isTrue();
    }

    @Test
    void discoFromThePeerKeepsItAlive() {
        QuicLiveness.Watch w = watch();
        w.observe(10, 30, T0 + 1);
        // QUIC is silent (a congested path lost its ACKs) but a pong came 1 s ago
        long now = T0 + 2 * LIMIT;
        assertThat(w.dead(now - 1_000_000_000L, now)).isFalse();
        assertThat(w.dead(now - LIMIT, now)).isTrue();
    }
}
