package dev.burrow.cli;

import dev.burrow.cli.agent.AgentCommand;
import dev.burrow.cli.agent.ConnectCommand;
import dev.burrow.cli.agent.DemoCommand;
import dev.burrow.cli.agent.ExposeCommand;
import dev.burrow.cli.agent.ReadyCommand;
import dev.burrow.cli.agent.StatusCommand;
import dev.burrow.cli.agent.WhoisCommand;
import dev.burrow.cli.common.VersionProvider;
import dev.burrow.cli.identity.CaCommand;
import dev.burrow.cli.identity.IdCommand;
import dev.burrow.cli.identity.TokenCommand;
import dev.burrow.cli.netcheck.NetcheckCommand;
import dev.burrow.cli.relay.RelayCommand;
import dev.burrow.cli.stun.StunProbeCommand;
import dev.burrow.cli.stun.StunServerCommand;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** {@code burrow}: the top-level command; every feature is a subcommand. */
@Command(
        name = "burrow",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Reverse-tunnel relay and NAT traversal gateway: listen behind NAT, dial by identity.",
        subcommands = {
            // Subcommands are registered here, one line each.
            AgentCommand.class,
            ExposeCommand.class,
            ConnectCommand.class,
            StatusCommand.class,
            ReadyCommand.class,
            WhoisCommand.class,
            DemoCommand.class,
            StunServerCommand.class,
            StunProbeCommand.class,
            NetcheckCommand.class,
            IdCommand.class,
            CaCommand.class,
            TokenCommand.class,
            RelayCommand.class,
            HelpCommand.class, // burrow help COMMAND: the same text as COMMAND --help
        })
public final class BurrowCommand implements Runnable {
    @Spec
    CommandSpec spec;

    /** Read by {@link Main#chooseLogLevel} before parsing (logging starts before picocli runs); declared so it parses. */
    @Option(
            names = {"-v", "--verbose"},
            scope = ScopeType.INHERIT,
            description = "More log lines on stderr: INFO for commands that print a result (they log only warnings "
                    + "otherwise), DEBUG for the ones that keep running. BURROW_LOG_LEVEL overrides.")
    boolean verbose;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing command: see 'burrow --help'");
    }
}
