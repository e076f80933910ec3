package dev.burrow.cli.agent;

import dev.burrow.cli.common.UsageException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where {@code burrow agent} takes its join token from: {@code --join-file FILE}, {@code --join -}
 * (standard input), the environment, or (discouraged, since every local user can read a process's
 * arguments) {@code --join TOKEN}, which still works but warns.
 */
final class JoinTokenSource {
    /** More than any token (about 65 characters) plus white space; a larger input is not a token. */
    static final int MAX_TOKEN_INPUT = 1024;

    private JoinTokenSource() {}

    /**
     * The token, stripped, or null when none was given.
     *
     * @throws UsageException for two sources at once, an unreadable file or an empty input
     */
    static String read(String joinOption, Path joinFile, String env, InputStream stdin, PrintWriter err) {
        if (joinOption != null && joinFile != null) {
            throw new UsageException("give the join token once: --join or --join-file, not both");
        }
        if (joinFile != null) {
            try {
                if (Files.size(joinFile) > MAX_TOKEN_INPUT) {
                    throw new UsageException("--join-file " + joinFile + ": larger than a join token");
                }
                return nonEmpty(Files.readString(joinFile, StandardCharsets.UTF_8), "--join-file " + joinFile);
            } catch (IOException e) {
                throw new UsageException("--join-file: cannot read " + joinFile + " ("
                        + e.getClass().getSimpleName() + ")");
            }
        }
        if ("-".equals(joinOption)) {
            try {
                byte[] in = stdin.readNBytes(MAX_TOKEN_INPUT + 1);
                if (in.length > MAX_TOKEN_INPUT) {
                    throw new UsageException("--join -: standard input is larger than a join token");
                }
                String firstLine = new String(in, StandardCharsets.UTF_8)
                        .lines()
                        .map(String::strip)
                        .filter(l -> !l.isEmpty())
                        .findFirst()
                        .orElse("");
                return nonEmpty(firstLine, "--join - (standard input)");
            } catch (IOException e) {
                throw new UsageException(
                        "--join -: cannot read standard input (" + e.getClass().getSimpleName() + ")");
            }
        }
        if (joinOption != null) {
            err.println(
                    "warning: a join token given with --join is visible to every local user in the process list for the "
                            + "agent's lifetime; use --join-file FILE, '--join -' (standard input) or "
                            + AgentCommand.JOIN_ENV + " instead");
            err.flush();
            return nonEmpty(joinOption, "--join");
        }
        return env == null || env.isBlank() ? null : env.strip();
    }

    private static String nonEmpty(String text, String where) {
        if (text == null || text.isBlank()) {
            throw new UsageException(where + ": no join token");
        }
        return text.strip();
    }
}
