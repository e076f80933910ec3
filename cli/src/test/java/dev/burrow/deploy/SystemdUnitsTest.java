package dev.burrow.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The systemd units in deploy/systemd: checked by {@code systemd-analyze verify} and
 * {@code systemd-analyze security --offline}, and their hardening settings pinned here.
 *
 * <p>{@code verify} refuses a unit whose ExecStart binary does not exist, and CI machines need not
 * have {@code /usr/bin/java}; so the test verifies a copy whose ExecStart runs {@code /bin/true}
 * with the same arguments (the rest of the unit is byte for byte the shipped one). verify also
 * reports unknown keys and bad values only as warnings with exit code 0, so any output fails.
 */
class SystemdUnitsTest {
    private Path work;

    @BeforeEach
    void work() throws IOException {
        work = Files.createTempDirectory("burrow-systemd");
    }

    @AfterEach
    void clean() throws IOException {
        try (var files = Files.walk(work)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    static Path unitsDir() {
        return ChartRenderer.repoRoot().resolve("deploy/systemd");
    }

    @ParameterizedTest
    @ValueSource(strings = {"burrow-relay.service", "burrow-agent.service"})
    void systemdAnalyzeAcceptsTheUnit(String unit) throws Exception {
        Path analyze = RelayMonitoringTest.tool("systemd-analyze", "Debian package systemd");
        String text = Files.readString(unitsDir().resolve(unit));
        assertThat(text).contains("\nExecStart=/usr/bin/java ");
        Path copy = work.resolve(unit);
        Files.writeString(copy, text.replace("\nExecStart=/usr/bin/java ", "\nExecStart=/bin/true "));

        Result verify = run(analyze.toString(), "verify", copy.toString());
        assertThat(verify.exit).as(verify.output).isZero();
        assertThat(verify.output)
                .as("warnings (unknown keys, bad values) are printed with exit code 0")
                .isBlank();

        // Exposure 0 (locked down) to 10 (unprotected); the units score about 1.7.
        Result security = run(analyze.toString(), "security", "--offline=yes", "--threshold=25", copy.toString());
        assertThat(security.exit).as(security.output).isZero();
        assertThat(security.output).contains("Overall exposure level");
    }

    @ParameterizedTest
    @ValueSource(strings = {"burrow-relay.service", "burrow-agent.service"})
    void unitIsHardened(String unit) throws IOException {
        Map<String, List<String>> service = section(Files.readString(unitsDir().resolve(unit)), "Service");
        assertThat(service.get("DynamicUser")).containsExactly("yes");
        assertThat(service.get("StateDirectory")).containsExactly(unit.replace(".service", ""));
        assertThat(service.get("Environment")).contains("BURROW_STATE=/var/lib/" + unit.replace(".service", ""));
        assertThat(service.get("ProtectSystem")).containsExactly("strict");
        assertThat(service.get("ProtectHome")).containsExactly("yes");
        assertThat(service.get("PrivateTmp")).containsExactly("yes");
        assertThat(service.get("NoNewPrivileges")).containsExactly("yes");
        assertThat(service.get("CapabilityBoundingSet")).containsExactly("");
        assertThat(service.get("RestrictAddressFamilies")).containsExactly("AF_INET AF_INET6 AF_UNIX AF_NETLINK");
        assertThat(service.get("Restart")).containsExactly("on-failure");
        assertThat(service).containsKey("LimitNOFILE");
        assertThat(service).as("the JIT needs writable executable memory").doesNotContainKey("MemoryDenyWriteExecute");
        String command = unit.startsWith("burrow-relay")
                ? "relay --config /etc/burrow/relay.yaml"
                : "agent --config /etc/burrow/agent.yaml";
        assertThat(service.get("ExecStart"))
                .singleElement()
                .asString()
                .startsWith("/usr/bin/java ")
                .endsWith("-jar /opt/burrow/burrow.jar " + command);
    }

    /** key -> values of one section (comments and blank lines skipped; keys may repeat). */
    private static Map<String, List<String>> section(String unit, String name) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        boolean in = false;
        for (String line : unit.split("\n")) {
            String l = line.strip();
            if (l.startsWith("[")) {
                in = l.equals("[" + name + "]");
            } else if (in && !l.isEmpty() && !l.startsWith("#")) {
                int eq = l.indexOf('=');
                out.computeIfAbsent(l.substring(0, eq), k -> new ArrayList<>()).add(l.substring(eq + 1));
            }
        }
        return out;
    }

    private record Result(int exit, String output) {}

    private Result run(String... command) throws Exception {
        Process p = new ProcessBuilder(command)
                .redirectErrorStream(true)
                .directory(work.toFile())
                .start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", command) + " did not finish in 60 s");
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
