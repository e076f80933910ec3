package dev.burrow.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.cli.Main;
import dev.burrow.identity.testing.TestIdentities;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Command-line validation of the agent commands: mistakes exit 2 with one clear line, before any network. */
class AgentCommandsTest {
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

    @Test
    void verifyAcceptsAGoodConfigurationAndNamesTheKeyOfABadOne() throws Exception {
        String peer = TestIdentities.randomNodeKey().nodeId();
        Path good = tmp.resolve("good.yaml");
        Files.writeString(
                good,
                "expose:\n  - {name: web, target: 127.0.0.1:8080, allow: [name:bob]}\n" + "forward:\n  - {peer: " + peer
                        + ", service: web, listen: 9000}\n");
        Result ok = run("agent", "verify", "--config", good.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("valid").contains("1 services, 1 forwards");

        Path bad = tmp.resolve("bad.yaml");
        Files.writeString(bad, "forward:\n  - {peer: " + peer + ", service: web, listen: 65536}\n");
        Result no = run("agent", "verify", "--config", bad.toString());
        assertThat(no.code()).isEqualTo(2);
        assertThat(no.err()).contains("forward[0].listen").contains("65536");
    }

    @Test
    void verifyReportsPlainCircuitsOffAndRejectsABadValue() throws Exception {
        Path off = tmp.resolve("off.yaml");
        Files.writeString(off, "tls:\n  plain-circuits: false\n");
        Result ok = run("agent", "verify", "--config", off.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out()).contains("valid").contains("tls.plain-circuits: false");
        Path bad = tmp.resolve("bad-tls.yaml");
        Files.writeString(bad, "tls:\n  plain-circuits: sometimes\n");
        Result no = run("agent", "verify", "--config", bad.toString());
        assertThat(no.code()).isEqualTo(2);
        assertThat(no.err()).contains("tls.plain-circuits");
    }

    @Test
    void verifyListsSeveralRelaysAndRejectsBadOnes() throws Exception {
        Path fleet = tmp.resolve("fleet.yaml");
        Files.writeString(
                fleet,
                "relays:\n  eu: [https://a.example.com, https://b.example.com]\n  us: [https://c.example.com]\n");
        Result ok = run("agent", "verify", "--config", fleet.toString());
        assertThat(ok.code()).as(ok.err()).isZero();
        assertThat(ok.out())
                .contains("3 relays: eu=https://a.example.com, eu=https://b.example.com, us=https://c.example.com");

        Path dup = tmp.resolve("dup.yaml");
        Files.writeString(dup, "relays: [https://a.example.com, https://a.example.com]\n");
        Result no = run("agent", "verify", "--config", dup.toString());
        assertThat(no.code()).isEqualTo(2);
        assertThat(no.err()).contains("relays").contains("listed twice");
    }

    @Test
    void relayOptionIsRepeatableWithOptionalRegions() {
        RelayOptions o = new RelayOptions();
        o.relay = java.util.List.of("eu=https://a.example.com", "https://b.example.com:8443", "wss://c.example.com");
        var r = o.relay();
        assertThat(r.candidates())
                .extracting(Object::toString)
                .containsExactly("eu=https://a.example.com", "https://b.example.com:8443", "wss://c.example.com");
        assertThat(r.url()).hasToString("https://a.example.com");
        assertThat(r.fleet()).isTrue();
        o.relay = java.util.List.of("https://a.example.com", "https://a.example.com");
        org.assertj.core.api.Assertions.assertThatThrownBy(o::relay).hasMessageContaining("listed twice");
        Result bad = run(
                "connect",
                TestIdentities.randomNodeKey().nodeId() + "/web",
                "9000",
                "--relay",
                "https://127.0.0.1:1",
                "--relay",
                "http://127.0.0.1:2");
        assertThat(bad.code()).isEqualTo(2);
        assertThat(bad.err()).contains("--relay");
    }

    @Test
    void exposeRejectsBadArgumentsBeforeConnecting() {
        Result r = run("expose", "web", "127.0.0.1:0", "--allow", "name:bob", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("outside 1-65535");
        r = run("expose", "Web!", "127.0.0.1:80", "--allow", "name:bob", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        r = run("expose", "web", "127.0.0.1:80", "--allow", "group:x", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("allow rule");
        r = run(
                "expose",
                "web",
                "0.0.0.0:80",
                "--allow",
                "name:bob",
                "--relay",
                "https://127.0.0.1:1",
                "--relay-fingerprint",
                "sha256:" + "00".repeat(32),
                "--state",
                tmp.resolve("s").toString());
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("not a host address");
    }

    @Test
    void connectRejectsBadArguments() {
        Result r = run("connect", "alice", "9000", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("PEER/SERVICE");
        r = run("connect", "alice/web", "9000", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("node ID").contains("fleet CA"); // a name needs a fleet CA to vouch for it
        r = run("connect", TestIdentities.randomNodeKey().nodeId() + "/web", "70000", "--relay", "https://127.0.0.1:1");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("outside 1-65535");
        r = run("connect", TestIdentities.randomNodeKey().nodeId() + "/web", "9000");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("--relay");
    }

    @Test
    void statusWithoutARunningAgentSaysSo() {
        Result r = run("status", "--state", tmp.resolve("none").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.err()).contains("no running agent");
        r = run("ready", "--state", tmp.resolve("none").toString());
        assertThat(r.code()).isEqualTo(1);
        assertThat(r.out()).contains("not ready");
    }
}
