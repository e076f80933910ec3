package dev.burrow.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The state directory lock in one process; {@code dev.burrow.e2e.FirstHourE2eTest} checks two processes. */
class StateDirLockTest {
    @TempDir
    Path tmp;

    @Test
    void aSecondHolderIsRefusedWithThePidAndTheWayOutAndTheLockIsFreeAfterClose() throws Exception {
        Path dir = tmp.resolve("state");
        try (StateDirLock first = StateDirLock.acquire(dir)) {
            assertThat(Files.readString(dir.resolve(StateDirLock.FILE_NAME)).strip())
                    .isEqualTo(String.valueOf(ProcessHandle.current().pid()));
            assertThatThrownBy(() -> StateDirLock.acquire(dir))
                    .isInstanceOf(StateDirLock.HeldException.class)
                    .hasMessageContaining(dir.toString())
                    .hasMessageContaining("--state");
        }
        try (StateDirLock again = StateDirLock.acquire(dir)) {
            assertThat(StateDirLock.fileExists(dir)).isTrue();
        }
    }
}
