package dev.burrow.netlab;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A program running inside a lab namespace, its stdout and stderr going to one log file. Closing
 * it ends the whole process tree: SIGTERM, a short grace period, then SIGKILL.
 */
public final class LabProcess implements AutoCloseable {
    /** Long enough for a JVM to run its shutdown hooks, short enough to keep a failing test quick. */
    static final Duration TERM_GRACE = Duration.ofSeconds(3);

    private static final Duration POLL = Duration.ofMillis(50);

    private final String name;
    private final String namespace;
    private final List<String> command;
    private final Process process;
    private final Path log;

    LabProcess(String name, String namespace, List<String> command, Process process, Path log) {
        this.name = name;
        this.namespace = namespace;
        this.command = List.copyOf(command);
        this.process = process;
        this.log = log;
    }

    public String name() {
        return name;
    }

    public String namespace() {
        return namespace;
    }

    public List<String> command() {
        return command;
    }

    public long pid() {
        return process.pid();
    }

    public Path logFile() {
        return log;
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Everything the process wrote so far (stdout and stderr interleaved). */
    public String output() {
        try {
            return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** Waits for the process to exit and returns its exit code, or fails after {@code timeout} (killing it). */
    public int waitFor(Duration timeout) {
        try {
            if (process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                return process.exitValue();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
        throw new NetLabException(name + " did not exit within " + timeout + "; killed. Output:\n" + tail());
    }

    /**
     * Waits until the output contains a match of {@code regex} and returns the match, failing after
     * {@code timeout} or when the process exits first.
     */
    public Matcher awaitOutput(String regex, Duration timeout) {
        Pattern pattern = Pattern.compile(regex, Pattern.MULTILINE);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Matcher m = pattern.matcher(output());
            if (m.find()) {
                return m;
            }
            if (!process.isAlive()) {
                // One more read: the line may have landed between the check and the exit.
                m = pattern.matcher(output());
                if (m.find()) {
                    return m;
                }
                throw new NetLabException(name + " exited (" + process.exitValue() + ") before printing /" + regex
                        + "/. Output:\n" + tail());
            }
            if (System.nanoTime() > deadline) {
                throw new NetLabException(
                        name + " did not print /" + regex + "/ within " + timeout + ". Output:\n" + tail());
            }
            sleep(POLL);
        }
    }

    /** The last part of the log, for failure messages. */
    public String tail() {
        String out = output();
        return out.length() <= 4000 ? out : "..." + out.substring(out.length() - 4000);
    }

    /** Ends the process and all its descendants; idempotent. */
    @Override
    public void close() {
        killTree(process.toHandle(), TERM_GRACE);
    }

    static void killTree(ProcessHandle root, Duration grace) {
        // Collect descendants first: once the parent dies they are re-parented and no longer found.
        List<ProcessHandle> tree = new java.util.ArrayList<>(root.descendants().toList());
        tree.add(root);
        tree.forEach(ProcessHandle::destroy);
        long deadline = System.nanoTime() + grace.toNanos();
        while (tree.stream().anyMatch(ProcessHandle::isAlive) && System.nanoTime() < deadline) {
            sleep(POLL);
        }
        tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : tree) {
            try {
                h.onExit().get(2, TimeUnit.SECONDS);
            } catch (Exception e) {
                // Reported by the lab's leftover-process check.
            }
        }
    }

    static void sleep(Duration d) {
        try {
            Thread.sleep(d);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetLabException("interrupted", e);
        }
    }

    @Override
    public String toString() {
        return name + "[pid " + process.pid() + " in " + namespace + "]";
    }
}
