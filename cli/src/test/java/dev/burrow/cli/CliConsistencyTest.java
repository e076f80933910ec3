package dev.burrow.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What every command shares: exit codes in --help, 'burrow help COMMAND', -o text|json, shell completion. */
class CliConsistencyTest {
    @TempDir
    Path tmp;

    static List<CommandLine> allCommands(CommandLine cl) {
        List<CommandLine> all = new ArrayList<>();
        all.add(cl);
        for (CommandLine sub : cl.getSubcommands().values()) {
            all.addAll(allCommands(sub));
        }
        return all;
    }

    @Test
    void everyCommandsHelpListsItsExitCodes() {
        for (CommandLine c : allCommands(Main.newCommandLine())) {
            if (c.getCommandName().equals("help")) {
                continue;
            }
            assertThat(c.getUsageMessage())
                    .as(c.getCommandSpec().qualifiedName())
                    .contains("Exit codes:")
                    .contains("  2   ");
        }
    }

    @Test
    void helpCommandShowsTheSameTextAsDashDashHelp() {
        BadInputsTest.Result viaHelp = BadInputsTest.run("help", "connect");
        BadInputsTest.Result viaFlag = BadInputsTest.run("connect", "--help");
        assertThat(viaHelp.code()).isZero();
        assertThat(viaHelp.out()).isEqualTo(viaFlag.out()).contains("PEER/SERVICE");
    }

    @Test
    void completionPrintsABashScriptThatKnowsTheCommands() {
        BadInputsTest.Result r = BadInputsTest.run("completion");
        assertThat(r.code()).isZero();
        assertThat(r.out())
                .startsWith("#!/usr/bin/env bash")
                .contains("complete -F")
                .contains("netcheck")
                .contains("expose");
    }

    @Test
    void idAndTokenListSpeakJson() throws Exception {
        ObjectMapper json = new ObjectMapper();
        BadInputsTest.Result id = BadInputsTest.run(
                "id", "-o", "json", "--state", tmp.resolve("n").toString());
        assertThat(id.code()).as(id.err()).isZero();
        JsonNode node = json.readTree(id.out());
        assertThat(node.get("nodeId").asText()).hasSize(56);
        BadInputsTest.Result only =
                BadInputsTest.run("id", "--node-id", "--state", tmp.resolve("n").toString());
        assertThat(only.out().strip()).isEqualTo(node.get("nodeId").asText());

        Path ca = tmp.resolve("ca");
        assertThat(BadInputsTest.run("ca", "init", "--ca-dir", ca.toString(), "--name", "test-fleet")
                        .code())
                .isZero();
        assertThat(BadInputsTest.run("token", "create", "--ca-dir", ca.toString(), "--tag", "dev")
                        .code())
                .isZero();
        BadInputsTest.Result list = BadInputsTest.run("token", "list", "--ca-dir", ca.toString(), "-o", "json");
        assertThat(list.code()).as(list.err()).isZero();
        JsonNode tokens = json.readTree(list.out()).get("tokens");
        assertThat(tokens).hasSize(1);
        assertThat(tokens.get(0).get("tags").get(0).asText()).isEqualTo("dev");
        assertThat(list.out()).doesNotContain(dev.burrow.identity.token.JoinToken.PREFIX + "."); // never a secret
    }
}
