package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.caller.ProxyProtocol;
import dev.burrow.agent.policy.AllowList;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.PublicIngress;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.cli.common.ProgramName;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import dev.burrow.protocol.frame.ServiceNames;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code burrow expose NAME TARGET --allow RULE [--udp]}: make a local TCP (or UDP) service reachable by allowed peers. */
@Command(
        name = "expose",
        mixinStandardHelpOptions = true,
        description = "Expose a local TCP (or, with --udp, UDP) service to allowed peers (runs until stopped).",
        footer = {
            "",
            "Example:",
            "  burrow expose web 127.0.0.1:8080 --allow name:bob --allow tag:dev --relay https://relay.example.com",
            "  burrow expose dns 127.0.0.1:53 --udp --allow name:bob --relay https://relay.example.com"
        })
public final class ExposeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "NAME", description = "Service name (1-63 of a-z 0-9 . _ -).")
    String name;

    @Parameters(
            index = "1",
            paramLabel = "TARGET",
            description = "The local service: host:port, [v6]:port or a port on 127.0.0.1.")
    String target;

    @Option(
            names = "--allow",
            paramLabel = "RULE",
            description =
                    "Who may connect (repeatable): node:<node-id>, name:<name> or tag:<tag> (names and tags only from "
                            + "certificates a fleet CA issued). Required unless --public is given.")
    List<String> allow = List.of();

    @Option(
            names = "--public",
            paramLabel = "CIDR",
            description =
                    "Also publish the service on a public port of the relay (public ingress; the relay must allow it), "
                            + "for clients in these networks (repeatable; 0.0.0.0/0 and ::/0 for everyone). No end-to-end TLS: the "
                            + "relay sees these connections' bytes.")
    List<String> publicSources = List.of();

    @Option(
            names = "--proxy-protocol",
            paramLabel = "VERSION",
            arity = "0..1",
            fallbackValue = "v2",
            description =
                    "Send the target a PROXY protocol header naming the caller before any data: v2 (the default when the "
                            + "flag is given) or off. Only for targets that expect it (nginx 'proxy_protocol', HAProxy 'accept-proxy').")
    String proxyProtocol;

    @Option(
            names = "--udp",
            description = "The target is a UDP service: each peer's local source becomes one flow to it (datagrams "
                    + "end-to-end encrypted; caps count flows; no --public or --proxy-protocol).")
    boolean udp;

    @Option(
            names = "--fleet-ca",
            paramLabel = "PEM",
            description = "Fleet CA certificate(s) that make peers' names and tags authoritative.")
    List<Path> fleetCa = List.of();

    @Mixin
    RelayOptions relay;

    @Mixin
    TransportOption transport;

    @Mixin
    OpsOptions ops;

    /** The one service this command exposes, validated (usage errors name what is wrong). */
    AgentConfig.Expose expose() {
        if (allow.isEmpty() && publicSources.isEmpty()) {
            throw new UsageException("give --allow RULE (who may connect) and/or --public CIDR (public ingress)");
        }
        try {
            return new AgentConfig.Expose(name, TargetSpec.parse(target), AllowList.parse(allow))
                    .withProxyProtocol(proxyProtocol == null ? ProxyProtocol.OFF : ProxyProtocol.parse(proxyProtocol))
                    .withPublicIngress(publicSources.isEmpty() ? null : PublicIngress.of(publicSources))
                    .withProtocol(udp ? ServiceProtocol.UDP : ServiceProtocol.TCP);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    @Override
    public Integer call() throws Exception {
        if (!ServiceNames.isValid(name)) {
            throw new UsageException("'" + name
                    + "' is not a valid service name (1-63 of a-z 0-9 . _ -, starting with a letter or digit)");
        }
        AgentConfig.Expose expose = expose();
        AgentConfig config = AgentConfig.builder()
                .relay(relay.relay())
                .fleetCas(fleetCa)
                .expose(expose)
                .build();
        AgentRunner.Running running =
                AgentRunner.start(config, relay.stateDir(), transport.select(), ops.endpoints(null));
        PrintWriter out = spec.commandLine().getOut();
        out.println("exposing '" + name + "' (" + (udp ? "udp " : "") + expose.target() + ") as node "
                + running.agent().identity().nodeKey().nodeId());
        out.println("allowed: " + String.join(", ", expose.allow().texts()));
        if (expose.proxyProtocol() != ProxyProtocol.OFF) {
            out.println("PROXY protocol " + expose.proxyProtocol().text()
                    + " header to the target before each connection's data");
        }
        if (expose.publicIngress() != null) {
            out.println("public ingress requested for " + String.join(", ", publicSources) + " (see "
                    + ProgramName.command()
                    + " status for the public address; the relay sees these connections' bytes)");
        }
        out.println("peers connect with: " + ProgramName.command() + " connect "
                + running.agent().identity().nodeKey().nodeId() + "/" + name + " PORT" + (udp ? " --udp" : "")
                + relay.commandLineTrust(config.relay()));
        return AgentRunner.runUntilStopped(out, running);
    }
}
