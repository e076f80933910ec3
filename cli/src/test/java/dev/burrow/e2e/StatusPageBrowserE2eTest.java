package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The agent's status page in a real headless browser (Chromium from Debian): with a connection open
 * through bob's forward, the page bob's agent serves shows alice as a peer on the relay path; the
 * screenshot is kept as {@value #SCREENSHOT}. Without Chromium the test is skipped, except with
 * CI=true, where it fails (scripts/install-test-deps.sh installs it).
 */
class StatusPageBrowserE2eTest {
    static final String SCREENSHOT = "target/status-page.png";
    /** Virtual time Chromium gives the page: its first poll of status.json and a repaint fit easily. */
    static final int VIRTUAL_TIME_BUDGET_MS = 5000;
    /** Chromium's own start and page load, on a loaded CI machine. */
    static final long BROWSER_TIMEOUT_SECONDS = 120;

    @TempDir
    Path tmp;

    @Test
    void theStatusPageShowsThePeerAndItsPathInABrowserAndNothingWithoutTheSecret() throws Exception {
        Path chromium = chromium();
        try (OpsDemo demo = new OpsDemo(tmp);
                Socket held = new Socket("127.0.0.1", demo.forwardPort)) {
            // A request that never ends keeps a connection (and so the peer) open while the browser looks.
            OutputStream o = held.getOutputStream();
            o.write("GET / HTTP/1.1\r\nHost: x\r\n".getBytes(StandardCharsets.US_ASCII));
            o.flush();

            String url = BurrowProcess.output(
                            "ops-status-web", Map.of(), 60, "status", "--web", "--state", demo.bobState.toString())
                    .strip();
            assertThat(url).matches("http://127\\.0\\.0\\.1:" + demo.webPort + "/s/[A-Za-z0-9_-]{43}/");
            assertThat(Files.getPosixFilePermissions(demo.bobState.resolve("web.secret")))
                    .isEqualTo(PosixFilePermissions.fromString("rw-------"));
            String base = "http://127.0.0.1:" + demo.webPort;
            assertThat(OpsDemo.get(base + "/").statusCode()).isEqualTo(401);
            assertThat(OpsDemo.get(base + "/s/" + "A".repeat(43) + "/status.json")
                            .statusCode())
                    .isEqualTo(404);
            assertThat(OpsDemo.get(url + "status.json").body()).contains(demo.aliceId);

            Path shot = Path.of(SCREENSHOT).toAbsolutePath();
            Files.deleteIfExists(shot);
            run(chromium, List.of("--screenshot=" + shot, "--window-size=1280,1000", url), tmp.resolve("shot.out"));
            assertThat(shot).exists();
            assertThat(Files.size(shot)).isGreaterThan(1000);

            String dom = run(chromium, List.of("--dump-dom", url), tmp.resolve("dom.out"));
            Files.writeString(Path.of("target", "status-page.html"), dom);
            assertThat(dom).contains("burrow agent").contains(demo.bobId); // the page's own node
            String peers = section(dom, "id=\"peers\"");
            assertThat(peers).contains(demo.aliceId).contains(">relay<");
            assertThat(section(dom, "id=\"connections\""))
                    .contains(demo.aliceId)
                    .contains("outbound");
            assertThat(dom).contains("updated ");
        }
    }

    /** The markup of one table, from its id to its end. */
    private static String section(String dom, String id) {
        int at = dom.indexOf(id);
        assertThat(at).as("%s in the page", id).isNotNegative();
        return dom.substring(at, dom.indexOf("</table>", at));
    }

    private static String run(Path chromium, List<String> args, Path out) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                chromium.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--user-data-dir=" + out.resolveSibling(out.getFileName() + ".profile"),
                "--virtual-time-budget=" + VIRTUAL_TIME_BUDGET_MS));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd)
                .redirectOutput(out.toFile())
                .redirectError(out.resolveSibling(out.getFileName() + ".err").toFile())
                .start();
        if (!p.waitFor(BROWSER_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chromium did not finish in " + BROWSER_TIMEOUT_SECONDS + " s");
        }
        return Files.readString(out);
    }

    static Path chromium() {
        for (String name : List.of("chromium", "chromium-browser")) {
            for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin").split(":")) {
                if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                    return Path.of(dir, name);
                }
            }
        }
        String message = "chromium not found (apt-get install chromium; scripts/install-test-deps.sh installs it)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError(message);
        }
        Assumptions.abort(message);
        return null;
    }
}
