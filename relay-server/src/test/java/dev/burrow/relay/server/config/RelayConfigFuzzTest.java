package dev.burrow.relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Arbitrary bytes as the relay's YAML settings file (as mounted from a ConfigMap): the only failure
 * allowed is a {@link RelayConfigLoader.ConfigException} with a message (which names the file), and a
 * configuration that loads has sane limits. Seeds in {@code RelayConfigFuzzTestInputs/}; run for real
 * with {@code JAZZER_FUZZ=1}.
 */
class RelayConfigFuzzTest {
    private static final Path FILE;

    static {
        try {
            FILE = Files.createTempFile("burrow-relay-fuzz-", ".yaml");
            FILE.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void loadFailsOnlyWithAClearError(byte[] input) throws IOException {
        Files.write(FILE, input);
        RelayConfig c;
        try {
            c = RelayConfigLoader.load(FILE, Map.of(), Map.of(), true);
        } catch (RelayConfigLoader.ConfigException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        assertThat(c.limits().maxClients()).isPositive();
        assertThat(c.limits().maxHandshakes()).isPositive();
        assertThat(c.limits().pendingCircuitsPerClient()).isPositive();
        assertThat(c.timeouts().handshake()).isPositive();
        assertThat(c.listen().getPort()).isBetween(0, 65535);
    }
}
