package dev.burrow.agent.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LogBudgetTest {
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private final LogBudget budget = new LogBudget(now::get);

    @Test
    void aWindowWritesItsLinesThenCountsTheRestAndTheNextWindowSaysHowMany() {
        for (int i = 0; i < LogBudget.LINES; i++) {
            assertThat(budget.admit()).as("line %d", i).isZero();
        }
        for (int i = 0; i < 990; i++) {
            assertThat(budget.admit()).isEqualTo(-1);
        }
        now.addAndGet(LogBudget.WINDOW.toNanos());
        assertThat(budget.admit()).isEqualTo(990);
        assertThat(budget.admit()).isZero(); // counted once
    }

    @Test
    void aSteadyTrickleIsNeverHeldBack() {
        for (int i = 0; i < 100; i++) {
            assertThat(budget.admit()).isZero();
            now.addAndGet(LogBudget.WINDOW.toNanos() / LogBudget.LINES);
        }
    }

    @Test
    void theNoteSaysNothingWhenNothingWasSkipped() {
        assertThat(LogBudget.note(0)).isEmpty();
        assertThat(LogBudget.note(990)).isEqualTo(" (990 more like it not logged; see metrics and burrow status)");
    }
}
