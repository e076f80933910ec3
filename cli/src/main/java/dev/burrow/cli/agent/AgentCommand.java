package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.ConfigWatcher;
import dev.burrow.agent.ops.OpsEndpoints;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.cli.common.AgentConfigFile;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code burrow agent --config agent.yaml}: the long-lived daemon with any number of exposes and forwards. */
@Command(
        name = "agent",
        mixinStandardHelpOptions = true,
        description =
                "Run the agent daemon from a YAML configuration (exposes and forwards; reloaded when the file changes).",
        subcommands = {AgentCommand.Verify.class})
public final class AgentCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    // Not 'required': picocli would then demand it before 'agent verify --config' too.
    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            description = "Agent configuration (YAML). Required. Env: " + CONFIG_ENV + ".")
    Path config;

    /** Environment variable naming the configuration file (sidecars: a mounted ConfigMap). */
    public static final String CONFIG_ENV = "BURROW_CONFIG";

    /** Environment variable with the name to ask for when joining. */
    public static final String NAME_ENV = "BURROW_NAME";

    @Mixin
    RelayOptions relay;

    @Option(
            names = "--join",
            paramLabel = "TOKEN|-",
            description =
                    "Join token from 'burrow token create': obtain a CA-issued certificate from the relay on first start. "
                            + "'-' reads it from standard input. A token on the command line is visible in the process list: prefer "
                            + "--join-file, '--join -' or the environment variable " + JOIN_ENV + ".")
    String join;

    @Option(
            names = "--join-file",
            paramLabel = "FILE",
            description = "Read the join token from FILE (e.g. a mounted Secret).")
    Path joinFile;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description = "Name to ask for when joining (a token may fix it). Env: " + NAME_ENV + ".")
    String name;

    /** Environment variable with a join token (for sidecars: mount it from a Secret). */
    public static final String JOIN_ENV = "BURROW_JOIN_TOKEN";

    @Mixin
    TransportOption transport;

    @Mixin
    OpsOptions ops;

    @Override
    public Integer call() throws Exception {
        if (config == null
                && System.getenv(CONFIG_ENV) != null
                && !System.getenv(CONFIG_ENV).isBlank()) {
            config = Path.of(System.getenv(CONFIG_ENV).strip());
        }
        if (config == null) {
            throw new UsageException(
                    "missing --config FILE (the agent's YAML configuration; or set " + CONFIG_ENV + ")");
        }
        if (name == null
                && System.getenv(NAME_ENV) != null
                && !System.getenv(NAME_ENV).isBlank()) {
            name = System.getenv(NAME_ENV).strip();
        }
        UnaryOperator<AgentConfig> overrides = c -> relay.given() ? c.withRelay(relay.relay()) : c;
        AgentConfig c = overrides.apply(AgentConfigFile.load(config));
        PrintWriter out = spec.commandLine().getOut();
        String token = JoinTokenSource.read(
                join,
                joinFile,
                System.getenv(JOIN_ENV),
                System.in,
                spec.commandLine().getErr());
        AgentRunner.Running running = AgentRunner.start(
                c,
                relay.stateDir(),
                transport.select(),
                token,
                name,
                out,
                ops.endpoints(AgentConfigFile.loadOps(config)));
        ConfigWatcher watcher = new ConfigWatcher(config, running.agent(), overrides);
        out.println("agent " + running.agent().identity().nodeKey().nodeId() + " running: "
                + c.exposes().size() + " services, " + c.forwards().size() + " forwards (config " + config
                + ", reloaded on change)");
        return AgentRunner.runUntilStopped(out, watcher, running);
    }

    /** {@code burrow agent verify --config agent.yaml}: checks a configuration without running it. */
    @Command(
            name = "verify",
            mixinStandardHelpOptions = true,
            description = "Check an agent configuration and exit (0 = valid).")
    static final class Verify implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(
                names = {"-c", "--config"},
                paramLabel = "FILE",
                required = true,
                description = "Agent configuration (YAML).")
        Path config;

        @Override
        public Integer call() {
            AgentConfig c = AgentConfigFile.load(config);
            OpsEndpoints ops = AgentConfigFile.loadOps(config);
            for (AgentConfig.Expose e : c.exposes()) {
                try {
                    TargetPolicy.of(e.target());
                } catch (IllegalArgumentException ex) {
                    throw new UsageException("expose '" + e.name() + "': " + ex.getMessage());
                }
            }
            for (AgentConfig.Forward f : c.forwards()) {
                c.peerRef(f.peer()); // names are allowed only with a fleet CA
            }
            PrintWriter out = spec.commandLine().getOut();
            String relays = c.relay() == null || c.relay().url() == null
                    ? "; no relay.url or relays: pass --relay when running"
                    : c.relay().fleet()
                            ? "; " + c.relay().candidates().size() + " relays: "
                                    + c.relay().candidates().stream()
                                            .map(Object::toString)
                                            .collect(Collectors.joining(", "))
                            : "; relay " + c.relay().url();
            String plain = c.plainCircuits() ? "" : "; circuits always inside relay TLS (tls.plain-circuits: false)";
            out.println(config + ": valid (" + c.exposes().size() + " services, "
                    + c.forwards().size() + " forwards" + relays + plain + OpsLines.verify(ops) + ")");
            return 0;
        }
    }
}
