package dev.burrow.cli;

import picocli.CommandLine;

/** Entry point of the {@code burrow} jar. */
public final class Main {
    private Main() {}

    /**
     * Seconds the JVM caches a successful DNS answer when the operator did not choose (the JDK's
     * default is 30 s). Relays re-resolve their mesh peers' names every {@code mesh.resolve-interval}
     * to find new sibling pods, and agents re-resolve relay names when they reconnect: a 30 s cache
     * on top hid a new pod for half a minute. The cluster DNS caches too, so this costs little.
     */
    static final String DNS_CACHE_SECONDS = "2";

    /**
     * Commands that print a result and exit: their output is the result, so their logs are at WARN
     * unless {@code -v} (or {@code BURROW_LOG_LEVEL}) asks for more. Long-running commands keep INFO.
     */
    static final java.util.Set<String> SHORT_COMMANDS = java.util.Set.of("id", "status", "whois", "ready", "stun-probe",
            "netcheck", "token", "ca", "help");
    /** The logging configuration's level variable (logback.xml; a system property beats the environment). */
    static final String LOG_LEVEL = "BURROW_LOG_LEVEL";

    public static void main(String[] args) {
        shortenDnsCache();
        chooseLogLevel(args, System.getenv(LOG_LEVEL));
        System.exit(run(args));
    }

    /**
     * Must run before the first logger is created (logback reads the level once): short commands log
     * at WARN, {@code -v} raises any command to INFO (short) or DEBUG (long-running), and an explicit
     * {@value #LOG_LEVEL} wins over both.
     */
    static void chooseLogLevel(String[] args, String envLevel) {
        if ((envLevel != null && !envLevel.isBlank()) || System.getProperty(LOG_LEVEL) != null) {
            return;
        }
        boolean verbose = false;
        String command = null;
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                verbose = true;
            } else if (command == null && !a.startsWith("-")) {
                command = a;
            }
        }
        boolean quiet = command != null && SHORT_COMMANDS.contains(command);
        if (quiet && !verbose) {
            System.setProperty(LOG_LEVEL, "WARN");
        } else if (!quiet && verbose) {
            System.setProperty(LOG_LEVEL, "DEBUG");
        }
    }

    /** Must run before the first name lookup (the JDK reads the setting once). */
    static void shortenDnsCache() {
        if (java.security.Security.getProperty("networkaddress.cache.ttl") == null
                && System.getProperty("sun.net.inetaddr.ttl") == null) {
            java.security.Security.setProperty("networkaddress.cache.ttl", DNS_CACHE_SECONDS);
        }
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
            cmd.getErr().println("burrow: " + (ex instanceof UsageException || ex instanceof CommandFailedException
                    ? ex.getMessage() : UserErrors.describe(ex)));
            org.slf4j.LoggerFactory.getLogger(Main.class).debug("command failed", ex);
            return ex instanceof UsageException ? 2 : 1;
        });
        return cl;
    }
}
