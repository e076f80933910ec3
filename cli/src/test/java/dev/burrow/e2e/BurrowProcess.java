package dev.burrow.e2e;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code burrow} command running in its own JVM ({@code java -cp <test class path>
 * dev.burrow.cli.Main ...}), output in a log file. {@link #close()} stops it (SIGTERM, then KILL).
 */
public final class BurrowProcess implements AutoCloseable {
    /** Where the logs of every process go, so a failed CI run can be read afterwards. */
    public static final Path LOG_DIR = Path.of("target", "e2e-logs");

    public final String name;
    public final Process process;
    public final Path log;

    private BurrowProcess(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    public static BurrowProcess start(String name, String... args) throws IOException {
        return start(name, java.util.Map.of(), args);
    }

    public static BurrowProcess start(String name, java.util.Map<String, String> env, String... args)
            throws IOException {
        Files.createDirectories(LOG_DIR);
        Path log = LOG_DIR.resolve(name + ".log");
        ProcessBuilder pb =
                processBuilder(List.of(), env, args).redirectErrorStream(true).redirectOutput(log.toFile());
        return new BurrowProcess(name, pb.start(), log);
    }

    /**
     * The {@code burrow} command line as a process of the test's JVM and class path, with extra JVM
     * options and the given environment; nothing of the test runner's own {@code BURROW_} variables
     * leaks in (a test says what it wants). Output is not redirected: the caller decides.
     */
    public static ProcessBuilder processBuilder(
            List<String> jvmOptions, java.util.Map<String, String> env, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(jvmOptions);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.burrow.cli.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd);
        pb.environment().keySet().removeIf(k -> k.startsWith("BURROW_"));
        // Agents on loopback never ask the machine's real default gateway for a port mapping.
        pb.environment().put("BURROW_PORTMAP", "off");
        pb.environment().put("BURROW_LOG_LEVEL", "INFO");
        String sessions = System.getProperty("burrow.test.relay-sessions");
        if (sessions != null) {
            // -Dburrow.test.relay-sessions=off: every process runs with relay sessions switched off
            // (a circuit per stream, as before sessions); on is the default
            pb.environment().put("BURROW_RELAY_SESSIONS", sessions);
        }
        pb.environment().putAll(env);
        return pb;
    }

    /** Runs a command to completion and returns its exit code (the process is killed after the timeout). */
    public static int run(String name, long timeoutSeconds, String... args) throws IOException, InterruptedException {
        try (BurrowProcess p = start(name, args)) {
            if (!p.process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IllegalStateException(
                        name + " did not finish in " + timeoutSeconds + " s; log: " + p.logText());
            }
            return p.process.exitValue();
        }
    }

    /**
     * Runs a short command to completion and returns what it printed on stdout (as a shell's
     * {@code $(...)} would); stderr goes to the log file. Fails when it exits non-zero.
     */
    public static String output(String name, java.util.Map<String, String> env, long timeoutSeconds, String... args)
            throws IOException, InterruptedException {
        Files.createDirectories(LOG_DIR);
        Path out = LOG_DIR.resolve(name + ".out");
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx128m");
        // The jar's logging (stderr), not a test jar's logback-test.xml (stdout) that the class path also holds.
        cmd.add("-Dlogback.configurationFile=logback.xml");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.burrow.cli.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd)
                .redirectOutput(out.toFile())
                .redirectError(LOG_DIR.resolve(name + ".log").toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("BURROW_"));
        // Agents on loopback never ask the machine's real default gateway for a port mapping.
        pb.environment().put("BURROW_PORTMAP", "off");
        pb.environment().putAll(env);
        Process p = pb.start();
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                throw new IllegalStateException(name + " did not finish in " + timeoutSeconds + " s");
            }
        } finally {
            p.destroyForcibly();
        }
        String text = Files.readString(out, StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new IllegalStateException(name + " exited " + p.exitValue() + ": " + text
                    + Files.readString(LOG_DIR.resolve(name + ".log"), StandardCharsets.UTF_8));
        }
        return text;
    }

    public String logText() {
        try {
            return Files.readString(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    @Override
    public void close() {
        if (!process.isAlive()) {
            return;
        }
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ fault tests (dev.burrow.fault)

    /** What Netty's leak detector writes when a buffer was garbage-collected without being released. */
    public static final String LEAK_MARKER = "LEAK:";

    public long pid() {
        return process.pid();
    }

    /** SIGKILL: no shutdown hook, no drain, sockets reset by the kernel. Waits until the process is gone. */
    public void kill9() throws InterruptedException {
        process.destroyForcibly();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            throw new IllegalStateException(name + " survived SIGKILL for 30 s");
        }
    }

    /** Open file descriptors ({@code /proc/PID/fd}), or -1 when unavailable (not Linux, or gone). */
    public long openFileDescriptors() {
        return countEntries(Path.of("/proc", String.valueOf(pid()), "fd"));
    }

    /** Threads ({@code /proc/PID/task}), or -1 when unavailable. */
    public long threads() {
        return countEntries(Path.of("/proc", String.valueOf(pid()), "task"));
    }

    private static long countEntries(Path dir) {
        try (var s = Files.list(dir)) {
            return s.count();
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** Lines of the log with a Netty leak report ({@link #LEAK_MARKER}). */
    public List<String> leakReports() {
        return logText().lines().filter(l -> l.contains(LEAK_MARKER)).toList();
    }
}
