package dev.burrow.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Dockerfile cannot be built here (no container engine), so its invariants are checked as text:
 * the same Maven command as the ./burrow launcher, a non-root numeric user, no HEALTHCHECK, and an
 * entrypoint that the Helm chart agrees with.
 */
class DockerfileTest {
    /** The Maven invocation in a shell line: "mvn" and its arguments, up to a redirection, ")" or "&&". */
    private static final Pattern MAVEN = Pattern.compile("\\bmvn((?:\\s+[^\\s>)&|;\\\\]+)+)");

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path root = ChartRenderer.repoRoot();

    @Test
    void buildsWithExactlyTheLaunchersMavenCommand() throws IOException {
        String launcher = mavenCommand(read(root.resolve("burrow")));
        assertThat(launcher).isEqualTo("mvn -B -q -DskipTests package -pl cli -am");
        List<String> dockerRuns = instructions("RUN").stream()
                .filter(r -> MAVEN.matcher(r).find())
                .toList();
        assertThat(dockerRuns).hasSize(1);
        assertThat(mavenCommand(dockerRuns.get(0))).isEqualTo(launcher);
    }

    @Test
    void multiStageWithAJre21Runtime() throws IOException {
        List<String> froms = instructions("FROM");
        assertThat(froms).hasSizeGreaterThanOrEqualTo(2);
        assertThat(froms.get(0)).contains("21").containsIgnoringCase("maven");
        String runtime = froms.get(froms.size() - 1).toLowerCase(Locale.ROOT);
        assertThat(runtime).contains("jre").contains("21");
        assertThat(finalStage()).anyMatch(l -> l.startsWith("COPY --from=") && l.endsWith("/opt/burrow/burrow.jar"));
    }

    @Test
    void runsAsNonRootNumericUserWithoutHealthcheck() throws IOException {
        List<String> users =
                finalStage().stream().filter(l -> l.startsWith("USER ")).toList();
        assertThat(users).as("the runtime stage sets USER").isNotEmpty();
        String user = users.get(users.size() - 1).substring(5).trim();
        assertThat(user).matches("[0-9]+(:[0-9]+)?");
        assertThat(Integer.parseInt(user.split(":")[0])).isPositive();
        assertThat(instructions("HEALTHCHECK"))
                .as("Kubernetes probes do health checks")
                .isEmpty();
    }

    @Test
    void entrypointAndCmdAgreeWithTheChart() throws IOException {
        JsonNode entrypoint = JSON.readTree(single("ENTRYPOINT"));
        List<String> ep = texts(entrypoint);
        assertThat(ep.get(0)).isEqualTo("java");
        assertThat(ep)
                .contains(
                        "-XX:MaxRAMPercentage=75", "-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED");
        assertThat(ep.subList(ep.size() - 2, ep.size())).containsExactly("-jar", "/opt/burrow/burrow.jar");
        assertThat(texts(JSON.readTree(single("CMD")))).containsExactly("relay", "--config", "/etc/burrow/relay.yaml");

        JsonNode values = new YAMLMapper()
                .readTree(ChartRenderer.chartDir().resolve("values.yaml").toFile());
        List<String> chartJvm = texts(values.at("/jvm/options"));
        assertThat(ep).containsAll(chartJvm);
        String user = finalStage().stream()
                .filter(l -> l.startsWith("USER "))
                .reduce((a, b) -> b)
                .orElseThrow();
        assertThat(user.substring(5).trim().split(":")[0])
                .isEqualTo(values.at("/podSecurityContext/runAsUser").asText());
    }

    @Test
    void dockerignoreKeepsBuildOutputsAndGitOut() throws IOException {
        List<String> ignore =
                read(root.resolve(".dockerignore")).lines().map(String::trim).toList();
        assertThat(ignore).contains(".git", "**/target");
    }

    // ---------- parsing ----------

    private static String mavenCommand(String text) {
        Matcher m = MAVEN.matcher(text);
        assertThat(m.find()).as("a mvn command in:\n" + text).isTrue();
        return ("mvn" + m.group(1)).trim().replaceAll("\\s+", " ");
    }

    /** Instructions with continuation lines joined and comments dropped. */
    private List<String> lines() throws IOException {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String raw : read(root.resolve("Dockerfile")).lines().toList()) {
            String line = raw.strip();
            if (line.startsWith("#") || (line.isEmpty() && current.isEmpty())) {
                continue;
            }
            if (line.endsWith("\\")) {
                current.append(line, 0, line.length() - 1).append(' ');
                continue;
            }
            current.append(line);
            if (!current.toString().isBlank()) {
                out.add(current.toString().strip());
            }
            current.setLength(0);
        }
        return out;
    }

    private List<String> instructions(String keyword) throws IOException {
        return lines().stream()
                .filter(l -> l.regionMatches(true, 0, keyword + " ", 0, keyword.length() + 1))
                .map(l -> l.substring(keyword.length() + 1).trim())
                .toList();
    }

    private String single(String keyword) throws IOException {
        List<String> all = instructions(keyword);
        assertThat(all).as(keyword).hasSize(1);
        return all.get(0);
    }

    private List<String> finalStage() throws IOException {
        List<String> all = lines();
        int last = 0;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).startsWith("FROM ")) {
                last = i;
            }
        }
        return all.subList(last, all.size());
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }
}
