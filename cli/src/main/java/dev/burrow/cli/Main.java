package dev.burrow.cli;

import picocli.CommandLine;

/** Entry point of the {@code burrow} jar. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs a command line and returns its exit code; used by tests to run commands in-process. */
    public static int run(String... args) {
        return newCommandLine().execute(args);
    }

    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new BurrowCommand());
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            // A user-facing failure: one clear line, no stack trace (that goes to the debug log).
            cmd.getErr().println("burrow: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            org.slf4j.LoggerFactory.getLogger(Main.class).debug("command failed", ex);
            return ex instanceof UsageException ? 2 : 1;
        });
        return cl;
    }
}
