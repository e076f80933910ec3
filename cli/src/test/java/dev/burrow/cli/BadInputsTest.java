package dev.burrow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.cli.common.UserErrors;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.util.List;
import java.util.stream.Stream;
import javax.net.ssl.SSLHandshakeException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/**
 * Bad inputs and the one line each gets: it names the input, the problem and the fix, never a Java
 * class or a bare path. Commands run in-process; none of these reaches the network.
 */
class BadInputsTest {
    static final String RELAY = "https://127.0.0.1:8443";
    static final String NODE = "geewkwdc3rr3qsythfcb7w5yoxm2r56exxjtahwxxdudlfour476pwbu";

    @TempDir
    static Path tmp;

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

    static Stream<Arguments> table() throws IOException {
        Path noScheme = tmp.resolve("no-scheme.yaml");
        Files.writeString(noScheme, "relay:\n  url: relay.example:8443\n");
        return Stream.of(
                Arguments.of(
                        List.of("connect", NODE + "/web", "9000", "--relay", "127.0.0.1:8443"),
                        2,
                        "burrow: --relay: '127.0.0.1:8443' is not a relay URL: write https://127.0.0.1:8443"),
                Arguments.of(
                        List.of("agent", "verify", "--config", noScheme.toString()),
                        2,
                        "relay: 'relay.example:8443' is not a relay URL: write https://relay.example:8443"),
                Arguments.of(
                        List.of("expose", "web", "8080", "--allow", "bob", "--relay", RELAY),
                        2,
                        "burrow: allow rule 'bob' is neither node:<node-id>, name:<name> nor tag:<tag>: did you mean name:bob?"),
                Arguments.of(
                        List.of("expose", "web", "8080", "--allow", "node:bob", "--relay", RELAY),
                        2,
                        "'bob' is not a node ID: a node ID has 56 characters, got 3 ('burrow id --node-id' prints it"),
                Arguments.of(
                        List.of("agent", "--config", tmp.resolve("missing.yaml").toString()),
                        2,
                        "burrow: cannot read the agent configuration: " + tmp.resolve("missing.yaml")
                                + ": no such file: check the path"),
                Arguments.of(
                        List.of("netcheck", "--stun", "127.0.0.1:3478", "--timeout", "3x"),
                        2,
                        "burrow: --timeout: expected a duration like 500ms, 3s, 5m, 1h or 2d, got '3x'"),
                Arguments.of(
                        List.of("netcheck", "--stun", "127.0.0.1:3478", "--timeout", "60s"),
                        2,
                        "burrow: --timeout: more than 0 and at most 39s, got '60s'"),
                Arguments.of(
                        List.of("stun-probe", "127.0.0.1:3478", "--timeout", "three"),
                        2,
                        "burrow: --timeout: expected a duration like 500ms, 3s, 5m, 1h or 2d, got 'three'"),
                Arguments.of(
                        List.of("relay", "--dev", "--drain-grace", "25"),
                        2,
                        "burrow: --drain-grace: expected a duration like 500ms, 3s, 5m, 1h or 2d, got '25'"),
                Arguments.of(
                        List.of(
                                "relay",
                                "--dev",
                                "--auth-mode",
                                "allow-list",
                                "--allow",
                                "bob",
                                "--listen",
                                "127.0.0.1:0",
                                "--admin-listen",
                                "off",
                                "--set",
                                "tls.dev-dir=" + tmp.resolve("dev-tls")),
                        2,
                        "'bob' is not a node ID: a node ID has 56 characters, got 3"),
                Arguments.of(
                        List.of("netcheck", "--config", noScheme.toString()),
                        2,
                        "relay: 'relay.example:8443' is not a relay URL: write https://relay.example:8443"),
                Arguments.of(
                        List.of(
                                "whois",
                                "127.0.0.1",
                                "--state",
                                tmp.resolve("w").toString()),
                        2,
                        "127.0.0.1"),
                Arguments.of(
                        List.of(
                                "status",
                                "-o",
                                "yaml",
                                "--state",
                                tmp.resolve("s").toString()),
                        2,
                        "burrow: -o: expected text or json, got 'yaml'"),
                Arguments.of(
                        List.of("id", "-o", "xml", "--state", tmp.resolve("id").toString()),
                        2,
                        "burrow: -o: expected text or json, got 'xml'"),
                Arguments.of(
                        List.of(
                                "whois",
                                "127.0.0.1:5000",
                                "--state",
                                tmp.resolve("nobody").toString()),
                        3,
                        "no running agent uses state directory"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void eachBadInputGetsOneLineNamingItAndTheFix(List<String> args, int code, String expected) {
        Result r = run(args.toArray(String[]::new));
        assertThat(r.code()).as(r.err()).isEqualTo(code);
        List<String> lines = r.err().lines().toList();
        assertThat(lines).as("one line").hasSize(1);
        assertThat(lines.get(0)).contains(expected).doesNotContain("Exception", "sun.security", "java.");
    }

    @Test
    void aPortInUseNamesTheAddressAndTheOption() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String addr = "127.0.0.1:" + taken.getLocalPort();
            Result r = run(
                    "relay",
                    "--dev",
                    "--listen",
                    addr,
                    "--admin-listen",
                    "off",
                    "--set",
                    "tls.dev-dir=" + tmp.resolve("dev-tls-2"));
            assertThat(r.code()).isEqualTo(1);
            assertThat(r.err().strip())
                    .isEqualTo(
                            "burrow: the relay cannot listen on " + addr
                                    + " (--listen): Address already in use: stop the process that holds it (another relay?) or choose another port");
        }
    }

    /** Root reads any file, so the real permission error is built here rather than provoked. */
    @Test
    void aFileThatCannotBeReadIsNamedOnceWithTheFix() {
        String line = UserErrors.describe(
                new IOException("/x/node.key: /x/node.key", new AccessDeniedException("/x/node.key")));
        assertThat(line)
                .isEqualTo("/x/node.key: permission denied: run burrow as the user that owns it, or use files you own "
                        + "(--state DIR for the node's state, --config FILE)");
    }

    @Test
    void anUntrustedRelayCertificateIsNotAJavaStackMessage() {
        var pkix = new SSLHandshakeException(
                "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException");
        pkix.initCause(new CertificateException(
                "PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: "
                        + "unable to find valid certification path to requested target"));
        assertThat(UserErrors.describe(pkix))
                .startsWith("the relay presents a certificate that no trusted CA signed")
                .contains("--relay-ca")
                .doesNotContain("sun.security");
    }
}
