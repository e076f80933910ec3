package dev.burrow.cli.agent;

import dev.burrow.agent.ops.StatusPage;
import dev.burrow.cli.common.CommandFailedException;
import dev.burrow.cli.common.UserErrors;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** The running agent's status page URL, from the file it writes into its state directory (0600). */
final class WebUrl {
    /** A URL is a host, a port and a 43-character secret; a bigger file is not ours. */
    static final int MAX_URL_BYTES = 256;

    private WebUrl() {}

    static String read(Path stateDir) {
        Path file = stateDir.resolve(StatusPage.URL_FILE);
        try {
            if (Files.size(file) > MAX_URL_BYTES) {
                throw new CommandFailedException(file + " is not a status page URL: restart the agent", null);
            }
            return Files.readString(file, StandardCharsets.US_ASCII).strip();
        } catch (NoSuchFileException e) {
            throw new CommandFailedException(
                    "the agent runs without a status page: start it with 'web: 127.0.0.1:PORT' in agent.yaml "
                            + "or --web-listen 127.0.0.1:PORT",
                    null);
        } catch (IOException e) {
            throw new CommandFailedException(UserErrors.fileProblem(e).orElse(file + ": " + e.getMessage()), null);
        }
    }
}
