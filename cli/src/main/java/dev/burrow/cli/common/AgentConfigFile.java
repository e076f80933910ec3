package dev.burrow.cli.common;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.ops.OpsEndpoints;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads an agent.yaml for any command that takes one ({@code agent}, {@code agent verify},
 * {@code netcheck}). It lives beside the commands' shared errors rather than in {@code cli.agent}
 * so that other command packages can read a configuration without depending on the agent commands.
 */
public final class AgentConfigFile {
    private AgentConfigFile() {}

    /** Reads an agent configuration; a failure is one line naming the file and the problem (exit 2). */
    public static AgentConfig load(Path file) {
        try {
            return AgentConfig.load(file);
        } catch (IOException e) {
            throw unreadable(file, e);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The operator endpoints of an agent configuration ({@code metrics:}, {@code web:}), as {@link #load} reads the rest. */
    public static OpsEndpoints loadOps(Path file) {
        try {
            return OpsEndpoints.load(file);
        } catch (IOException e) {
            throw unreadable(file, e);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static UsageException unreadable(Path file, IOException e) {
        return new UsageException("cannot read the agent configuration: "
                + UserErrors.fileProblem(e).orElse(file + ": " + e.getMessage()));
    }
}
