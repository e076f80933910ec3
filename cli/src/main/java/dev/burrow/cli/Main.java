package dev.burrow.cli;

import java.security.Security;
import org.slf4j.LoggerFactory;
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

    public static void main(String[] args) {
        shortenDnsCache();
        System.exit(run(args));
    }

    /** Must run before the first name lookup (the JDK reads the setting once). */
    static void shortenDnsCache() {
        if (Security.getProperty("networkaddress.cache.ttl") == null
                && System.getProperty("sun.net.inetaddr.ttl") == null) {
            Security.setProperty("networkaddress.cache.ttl", DNS_CACHE_SECONDS);
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
            cmd.getErr().println("burrow: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            LoggerFactory.getLogger(Main.class).debug("command failed", ex);
            return ex instanceof UsageException ? 2 : 1;
        });
        return cl;
    }
}
