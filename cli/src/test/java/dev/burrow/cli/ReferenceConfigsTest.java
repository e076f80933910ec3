package dev.burrow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The reference configurations under docs/examples are valid as shipped ({@code agent verify},
 * {@code relay verify}), and {@code relay verify} names a bad key with its fix.
 */
class ReferenceConfigsTest {
    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out));
        cl.setErr(new PrintWriter(err));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static Path example(String name) {
        Path p = Path.of("..", "docs", "examples", name);
        return Files.exists(p) ? p : Path.of("docs", "examples", name);
    }

    @Test
    void theReferenceAgentConfigIsValid() {
        Result r = run("agent", "verify", "--config", example("agent.yaml").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).contains("valid (1 services, 1 forwards; relay https://relay.example.com:443");
    }

    @Test
    void theReferenceRelayConfigIsValidAndItsPlanIsPrinted() {
        Result r = run("relay", "verify", "--config", example("relay.yaml").toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("relay.yaml: valid")
                .contains("listen     0.0.0.0:443 (TLS from /etc/burrow/tls/tls.crt")
                .contains("admin      http://0.0.0.0:9090")
                .contains("stun       0.0.0.0:3478 (UDP)")
                .contains("admission  allow-list: 1 node IDs")
                .contains("mesh       off")
                .contains("ingress    off");
    }

    @Test
    void anUnknownRelayKeyIsNamedWithTheKeyItResembles() throws Exception {
        Path typo = tmp.resolve("typo.yaml");
        Files.writeString(typo, "auth: {mode: open}\nlimits:\n  max-client: 10\n");
        Result r = run("relay", "verify", "--config", typo.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown key 'limits.max-client'").contains("did you mean 'limits.max-clients'?");
        assertThat(r.err().strip().lines()).hasSize(1);

        Path wrongSection = tmp.resolve("section.yaml");
        Files.writeString(wrongSection, "auth: {mode: open}\nkeepalive: 30s\n");
        r = run("relay", "verify", "--config", wrongSection.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown key 'keepalive'").contains("did you mean 'timeouts.keepalive'?");

        Path nonsense = tmp.resolve("nonsense.yaml");
        Files.writeString(nonsense, "auth: {mode: open}\nflux-capacitor: 1\n");
        r = run("relay", "verify", "--config", nonsense.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("unknown key 'flux-capacitor'").contains("docs/examples/relay.yaml");
    }

    @Test
    void badValuesAreUsageErrorsAndMissingFilesFailOnlyWithCheckFiles() throws Exception {
        Path noAuth = tmp.resolve("noauth.yaml");
        Files.writeString(noAuth, "tls: {mode: dev}\n");
        Result r = run("relay", "verify", "--config", noAuth.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("auth.mode is required");

        Path badId = tmp.resolve("badid.yaml");
        Files.writeString(badId, "tls: {mode: dev}\nauth: {mode: allow-list, allow: [bob]}\n");
        r = run("relay", "verify", "--config", badId.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("auth.allow").contains("bob");

        Path files = tmp.resolve("files.yaml");
        Files.writeString(
                files,
                "tls: {cert: " + tmp.resolve("none.crt") + ", key: " + tmp.resolve("none.key") + "}\n"
                        + "auth: {mode: open}\n");
        r = run("relay", "verify", "--config", files.toString());
        assertThat(r.code()).as(r.err()).isZero();
        r = run("relay", "verify", "--check-files", "--config", files.toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("tls.cert").contains("none.crt").contains("does not exist");
    }

    @Test
    void theOperatorEndpointsAreCheckedByAgentVerifyAndTheCommandLine() throws Exception {
        Path ok = tmp.resolve("ops.yaml");
        Files.writeString(ok, "metrics: 9464\nweb: 127.0.0.1:8089\n");
        Result r = run("agent", "verify", "--config", ok.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("metrics on http://127.0.0.1:9464/metrics")
                .contains("status page on 127.0.0.1:8089 (burrow status --web prints its URL)");

        Path open = tmp.resolve("open.yaml");
        Files.writeString(open, "web: 0.0.0.0:8089\n");
        r = run("agent", "verify", "--config", open.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("web: 0.0.0.0 is not a loopback address");

        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "metrics: 127.0.0.1:99999\n");
        r = run("agent", "verify", "--config", bad.toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("metrics: '127.0.0.1:99999'");

        r = run(
                "connect",
                dev.burrow.identity.testing.TestIdentities.randomNodeKey().nodeId() + "/web",
                "9000",
                "--relay",
                "https://127.0.0.1:1",
                "--web-listen",
                "192.0.2.1:8089",
                "--state",
                tmp.resolve("state").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("not a loopback address");
    }
}
