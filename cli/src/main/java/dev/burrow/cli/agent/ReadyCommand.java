package dev.burrow.cli.agent;

import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.identity.StateDirs;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code burrow ready}: exit 0 only when the agent is connected and its forwards are live (probes). */
@Command(
        name = "ready",
        mixinStandardHelpOptions = true,
        description = "Exit 0 when the running agent is connected to its relay and every forward is live; 1 otherwise.")
public final class ReadyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--state",
            paramLabel = "DIR",
            description = "State directory of the agent. Default: $" + StateDirs.ENV + ", else ~/"
                    + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    @Option(
            names = {"-q", "--quiet"},
            description = "Print nothing.")
    boolean quiet;

    @Override
    public Integer call() {
        try {
            ControlApiClient.Response r =
                    ControlApiClient.forStateDir(StateDirs.resolve(state)).ready();
            boolean ready = r.status() == 200 && r.body().path("ready").asBoolean(false);
            if (!quiet) {
                spec.commandLine()
                        .getOut()
                        .println(
                                ready
                                        ? "ready"
                                        : "not ready: "
                                                + r.body().path("problem").asText("unknown"));
            }
            return ready ? 0 : 1;
        } catch (IOException e) {
            if (!quiet) {
                spec.commandLine().getOut().println("not ready: " + e.getMessage());
            }
            return 1;
        }
    }
}
