package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** What a new user meets in the first hour, with real processes: one agent per state directory, trust failures. */
class FirstHourE2eTest {
    static final Duration STARTUP = Duration.ofSeconds(120);
    /** Nobody listens there: the agents keep retrying, which is all these tests need of a relay. */
    static final String NO_RELAY = "https://127.0.0.1:9";

    final List<BurrowProcess> processes = new ArrayList<>();

    @AfterEach
    void stop() {
        for (BurrowProcess p : processes) {
            p.close();
        }
    }

    BurrowProcess start(String name, String... args) throws Exception {
        BurrowProcess p = BurrowProcess.start(name, Map.of("BURROW_DIRECT", "off"), args);
        processes.add(p);
        return p;
    }

    @Test
    void aSecondAgentOnTheSameStateDirectoryExitsAtOnceNamingTheHolder() throws Exception {
        Path state = Files.createTempDirectory("burrow-lock-");
        BurrowProcess first = start("lock-first", "connect", dev.burrow.identity.testing.TestIdentities.randomNodeKey().nodeId() + "/web",
                String.valueOf(ReadmeQuickStartE2eTest.freePort()), "--relay", NO_RELAY, "--state", state.toString());
        await("first agent up").atMost(STARTUP).until(() -> {
            assertThat(first.isAlive()).as(first.logText()).isTrue();
            return first.logText().contains("forwarding ");
        });
        BurrowProcess second = start("lock-second", "expose", "web", "127.0.0.1:8080", "--allow", "name:bob",
                "--relay", NO_RELAY, "--state", state.toString());
        assertThat(second.process.waitFor(60, TimeUnit.SECONDS)).as("second agent exits").isTrue();
        assertThat(second.process.exitValue()).isNotZero();
        assertThat(second.logText()).contains("PID " + first.pid()).contains("--state");
        assertThat(first.isAlive()).as("the first agent is untouched").isTrue();
        assertThat(state.resolve("agent-api.token")).exists();
    }
}
