package dev.burrow.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code burrow}: the top-level command; every feature is a subcommand. */
@Command(
        name = "burrow",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Reverse-tunnel relay and NAT traversal gateway: listen behind NAT, dial by identity.",
        subcommands = {
            // Subcommands are registered here, one line each.
            dev.burrow.cli.agent.AgentCommand.class,
            dev.burrow.cli.agent.ExposeCommand.class,
            dev.burrow.cli.agent.ConnectCommand.class,
            dev.burrow.cli.agent.StatusCommand.class,
            dev.burrow.cli.agent.ReadyCommand.class,
            dev.burrow.cli.agent.WhoisCommand.class,
            dev.burrow.cli.agent.DemoCommand.class,
            dev.burrow.cli.stun.StunServerCommand.class,
            dev.burrow.cli.stun.StunProbeCommand.class,
            dev.burrow.cli.netcheck.NetcheckCommand.class,
            dev.burrow.cli.identity.IdCommand.class,
            dev.burrow.cli.identity.CaCommand.class,
            dev.burrow.cli.identity.TokenCommand.class,
            dev.burrow.cli.relay.RelayCommand.class,
            picocli.CommandLine.HelpCommand.class, // burrow help COMMAND: the same text as COMMAND --help
        })
public final class BurrowCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Read by {@link Main#chooseLogLevel} before parsing (logging starts before picocli runs); declared so it parses. */
    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT,
            description = "More log lines on stderr: INFO for commands that print a result (they log only warnings "
                    + "otherwise), DEBUG for the ones that keep running. BURROW_LOG_LEVEL overrides.")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: see 'burrow --help'");
    }
}
