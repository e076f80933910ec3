package dev.burrow.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class FreePortsTest {
    private static final Path RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    @Test
    void theEphemeralRangeIsReadAsTheKernelHasIt() throws Exception {
        assumeTrue(Files.isReadable(RANGE), "Linux only");
        String line = Files.readAllLines(RANGE).get(0).trim();
        assertThat(FreePorts.ephemeralLow()).isEqualTo(Integer.parseInt(line.split("\\s+")[0]));
    }

    @Test
    void portsComeFromBelowTheEphemeralRange() throws Exception {
        int low = FreePorts.ephemeralLow();
        assumeTrue(low - FreePorts.LOWEST >= 1_000, "an unusual ephemeral range");
        for (int i = 0; i < 20; i++) {
            assertThat(FreePorts.free()).isBetween(FreePorts.LOWEST, low - 1);
        }
    }

    @Test
    void aRangeFileThatIsNotOneRangeIsAnError() {
        assertThat(FreePorts.parseLow(List.of("32768\t60999"))).isEqualTo(32768);
        for (List<String> bad : List.of(List.<String>of(), List.of("3"), List.of("60999 32768"), List.of("a b"))) {
            assertThatThrownBy(() -> FreePorts.parseLow(bad)).as("%s", bad).isInstanceOf(RuntimeException.class);
        }
    }
}
