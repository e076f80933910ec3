package dev.burrow.agent.disco;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class ReplayWindowTest {

    @Test
    void acceptsEachCounterOnceInAnyOrderWithinTheWindow() {
        ReplayWindow w = new ReplayWindow(128);
        assertThat(w.commit(5)).isTrue();
        assertThat(w.commit(5)).isFalse();
        assertThat(w.commit(3)).isTrue();
        assertThat(w.commit(4)).isTrue();
        assertThat(w.commit(3)).isFalse();
        assertThat(w.commit(0)).isTrue();
        assertThat(w.commit(100)).isTrue();
        assertThat(w.commit(6)).isTrue();
        assertThat(w.commit(6)).isFalse();
    }

    @Test
    void refusesCountersOlderThanTheWindow() {
        ReplayWindow w = new ReplayWindow(128);
        assertThat(w.commit(1000)).isTrue();
        assertThat(w.check(1000 - 128)).isFalse();
        assertThat(w.check(1000 - 127)).isTrue();
        assertThat(w.commit(1000 - 127)).isTrue();
        assertThat(w.commit(1000 - 127)).isFalse();
        assertThat(w.check(-1)).isFalse();
    }

    @Test
    void aBigJumpClearsTheWindow() {
        ReplayWindow w = new ReplayWindow(64);
        for (int i = 0; i < 64; i++) {
            assertThat(w.commit(i)).isTrue();
        }
        assertThat(w.commit(10_000)).isTrue();
        assertThat(w.commit(10_000 - 1)).isTrue();
        assertThat(w.commit(10_000 - 63)).isTrue();
        assertThat(w.commit(Long.MAX_VALUE)).isTrue();
        assertThat(w.commit(Long.MAX_VALUE)).isFalse();
    }

    @Test
    void slotsReusedAfterTheWindowMovesDoNotKeepOldMarks() {
        ReplayWindow w = new ReplayWindow(64);
        assertThat(w.commit(1)).isTrue();
        assertThat(w.commit(64 + 1)).isTrue(); // same slot as 1
        assertThat(w.commit(64 + 2)).isTrue();
        assertThat(w.commit(64 + 1)).isFalse();
        assertThat(w.commit(60)).isTrue(); // cleared on the move, in window, never seen
    }
}
