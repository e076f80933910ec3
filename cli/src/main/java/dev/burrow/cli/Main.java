package dev.burrow.cli;

import dev.burrow.cli.common.CommandFailedException;
import dev.burrow.cli.common.UsageException;
import dev.burrow.cli.common.UserErrors;
import java.security.Security;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import org.slf4j.LoggerFactory;
import picocli.AutoComplete;
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
    static final Set<String> SHORT_COMMANDS =
            Set.of("id", "status", "whois", "ready", "stun-probe", "netcheck", "token", "ca", "help");
    /** The logging configuration's level variable (logback.xml; a system property beats the environment). */
    static final String LOG_LEVEL = "BURROW_LOG_LEVEL";

    public static void main(String[] args) {
        LogSettings.problem(System.getenv()).ifPresent(problem -> {
            System.err.println("burrow: " + problem);
            System.exit(2);
        });
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

    /** Every command's --help ends with its exit codes (unless it lists its own). */
    private static void documentExitCodes(CommandLine cl) {
        var usage = cl.getCommandSpec().usageMessage();
        if (usage.exitCodeList().isEmpty() && !cl.getCommandName().equals("help")) {
            usage.exitCodeListHeading("%nExit codes:%n").exitCodeList(EXIT_CODES);
        }
        for (CommandLine sub : cl.getSubcommands().values()) {
            documentExitCodes(sub);
        }
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

    /** Exit codes every command shares; a command with more (whois) lists its own in its footer. */
    static final Map<String, String> EXIT_CODES = exitCodes();

    private static Map<String, String> exitCodes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("0", "Success (long-running commands: stopped by SIGINT or SIGTERM).");
        m.put("1", "Failure: one line on stderr says what failed and what to do.");
        m.put("2", "Bad usage: an option, argument or configuration value is invalid (the line names it).");
        return m;
    }

    public static CommandLine newCommandLine() {
        CommandLine cl = new CommandLine(new BurrowCommand());
        // 'burrow completion' prints a bash completion script (zsh: autoload -U +X bashcompinit && bashcompinit first)
        CommandLine completion = new CommandLine(new AutoComplete.GenerateCompletion());
        completion
                .getCommandSpec()
                .usageMessage()
                .hidden(false)
                .description(
                        "Print a shell completion script for bash and zsh.",
                        "bash:  source <(burrow completion)",
                        "zsh:   autoload -U +X bashcompinit && bashcompinit && source <(burrow completion)");
        cl.addSubcommand("completion", completion);
        documentExitCodes(cl);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setExecutionExceptionHandler((ex, cmd, parseResult) -> {
            // A user-facing failure: one clear line, no stack trace (that goes to the debug log).
            cmd.getErr()
                    .println("burrow: "
                            + (ex instanceof UsageException || ex instanceof CommandFailedException
                                    ? ex.getMessage()
                                    : UserErrors.describe(ex)));
            LoggerFactory.getLogger(Main.class).debug("command failed", ex);
            return ex instanceof UsageException ? 2 : 1;
        });
        return cl;
    }
}
