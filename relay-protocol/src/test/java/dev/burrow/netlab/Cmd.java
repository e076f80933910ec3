package dev.burrow.netlab;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Runs a short host command ({@code ip}, {@code nft}, {@code tc}) to completion with a time bound.
 * Long-running programs go through {@link LabProcess} instead.
 */
public final class Cmd {
    /** Every configuration command finishes in milliseconds; ten seconds means it hung. */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);

    private Cmd() {}

    /** The outcome of one command. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {
        public boolean ok() {
            return exitCode == 0;
        }

        /** Returns this result, or throws with the command and its stderr when it failed. */
        public Result orThrow() {
            if (!ok()) {
                throw new NetLabException("command failed (exit " + exitCode + "): " + String.join(" ", command)
                        + (stderr.isBlank() ? "" : "\n" + stderr.strip()));
            }
            return this;
        }
    }

    public static Result run(List<String> command) {
        return run(command, null, DEFAULT_TIMEOUT);
    }

    public static Result run(String... command) {
        return run(List.of(command));
    }

    /** Runs {@code command}, feeding {@code stdin} when not null, killing it after {@code timeout}. */
    public static Result run(List<String> command, String stdin, Duration timeout) {
        Process p;
        try {
            p = new ProcessBuilder(command).start();
        } catch (IOException e) {
            return new Result(List.copyOf(command), 127, "", e.toString());
        }
        // Drain both pipes concurrently so a chatty command cannot block on a full pipe.
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        try (var in = p.getOutputStream()) {
            if (stdin != null) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            // The command exited without reading its input; its exit code tells the story.
        }
        try {
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(2, TimeUnit.SECONDS);
                return new Result(List.copyOf(command), 124, out.getNow(""), "timed out after " + timeout);
            }
            return new Result(
                    List.copyOf(command), p.exitValue(), out.get(2, TimeUnit.SECONDS), err.get(2, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new NetLabException("interrupted while running " + String.join(" ", command), e);
        } catch (Exception e) {
            return new Result(List.copyOf(command), p.exitValue(), out.getNow(""), err.getNow(""));
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        return CompletableFuture.supplyAsync(
                () -> {
                    try (in) {
                        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                },
                r -> Thread.ofVirtual().start(r));
    }
}
