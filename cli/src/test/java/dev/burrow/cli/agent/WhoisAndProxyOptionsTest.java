package dev.burrow.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.caller.ProxyProtocol;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code burrow expose --proxy-protocol} and {@code burrow whois} argument handling, before any network. */
class WhoisAndProxyOptionsTest {
    @TempDir
    Path tmp;

    static ExposeCommand parseExpose(String... args) {
        ExposeCommand c = new ExposeCommand();
        new CommandLine(c).parseArgs(args);
        return c;
    }

    @Test
    void proxyProtocolIsOffUnlessAskedForAndTheBareFlagMeansV2() {
        assertThat(parseExpose("web", "8080", "--allow", "tag:x").expose().proxyProtocol())
                .isEqualTo(ProxyProtocol.OFF);
        assertThat(parseExpose("web", "8080", "--allow", "tag:x", "--proxy-protocol")
                        .expose()
                        .proxyProtocol())
                .isEqualTo(ProxyProtocol.V2);
        assertThat(parseExpose("web", "8080", "--allow", "tag:x", "--proxy-protocol=v2")
                        .expose()
                        .proxyProtocol())
                .isEqualTo(ProxyProtocol.V2);
        assertThat(AgentCommandsTest.run(
                                "expose",
                                "web",
                                "8080",
                                "--allow",
                                "tag:x",
                                "--proxy-protocol=v1",
                                "--relay",
                                "https://127.0.0.1:1")
                        .code())
                .isEqualTo(2);
    }

    @Test
    void whoisRejectsANameOrAMissingPortAndSaysWhenNoAgentRuns() {
        AgentCommandsTest.Result name = AgentCommandsTest.run("whois", "localhost:80", "--state", tmp.toString());
        assertThat(name.code()).isEqualTo(2);
        assertThat(name.err()).contains("literal IP address");
        assertThat(AgentCommandsTest.run("whois", "127.0.0.1", "--state", tmp.toString())
                        .code())
                .isEqualTo(2);
        AgentCommandsTest.Result none = AgentCommandsTest.run("whois", "127.0.0.1:5000", "--state", tmp.toString());
        assertThat(none.code()).isEqualTo(WhoisCommand.NO_AGENT); // not 1: that is "no such connection"
        assertThat(none.err()).contains("no running agent");
    }
}
