package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code burrow connect PEER/SERVICE PORT}: a local port that carries every connection to a peer's service. */
@Command(
        name = "connect",
        mixinStandardHelpOptions = true,
        description =
                "Listen on a local port; every TCP connection to it (or, with --udp, every UDP source) is carried to a "
                        + "peer's service (runs until stopped).",
        footer = {
            "",
            "Examples:",
            "  burrow connect <node-id>/web 9000 --relay https://relay.example.com",
            "  burrow connect alice/web 9000 --relay https://relay.example.com --fleet-ca fleet-ca.pem",
            "  burrow connect <node-id>/dns 5353 --udp --relay https://relay.example.com",
            "",
            "PEER is a node ID, or a node name when --fleet-ca is given: the relay says which connected node",
            "carries that name in a certificate from the fleet CA, and the end-to-end TLS handshake checks that",
            "the node really holds such a certificate (a wrong answer is refused, never connected)."
        })
public final class ConnectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "PEER/SERVICE",
            description = "The peer (node ID, or name with --fleet-ca) and the service name.")
    String destination;

    @Parameters(index = "1", paramLabel = "PORT", arity = "0..1", description = "Local port (on 127.0.0.1).")
    String port;

    @Option(
            names = "--bind",
            paramLabel = "HOST:PORT",
            description = "Local address to listen on instead of 127.0.0.1:PORT.")
    String bind;

    @Option(
            names = "--udp",
            description = "Carry UDP: one UDP socket on the local port; each local source address is one flow to the "
                    + "peer's UDP service.")
    boolean udp;

    @Option(names = "--fleet-ca", paramLabel = "PEM", description = "Fleet CA certificate(s) for CA-issued peers.")
    List<Path> fleetCa = List.of();

    @Mixin
    RelayOptions relay;

    @Mixin
    TransportOption transport;

    @Mixin
    OpsOptions ops;

    @Override
    public Integer call() throws Exception {
        int slash = destination.indexOf('/');
        if (slash <= 0 || slash == destination.length() - 1) {
            throw new UsageException("expected PEER/SERVICE, e.g. <node-id>/web");
        }
        String peer = destination.substring(0, slash);
        String service = destination.substring(slash + 1);
        if ((port == null) == (bind == null)) {
            throw new UsageException("give either PORT or --bind HOST:PORT");
        }
        TargetSpec local;
        AgentConfig.Forward forward;
        try {
            local = bind != null ? TargetSpec.parse(bind) : new TargetSpec("127.0.0.1", TargetSpec.parsePort(port));
            forward = new AgentConfig.Forward(peer, service, local.host(), local.port())
                    .withProtocol(udp ? ServiceProtocol.UDP : ServiceProtocol.TCP);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        AgentConfig config = AgentConfig.builder()
                .relay(relay.relay())
                .fleetCas(fleetCa)
                .forward(forward)
                .build();
        try {
            config.peerRef(peer); // a node ID, or a name when a fleet CA is trusted
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        AgentRunner.Running running =
                AgentRunner.start(config, relay.stateDir(), transport.select(), ops.endpoints(null));
        InetSocketAddress bound = running.agent().forwardAddresses().get(0);
        PrintWriter out = spec.commandLine().getOut();
        out.println("forwarding " + (udp ? "udp " : "") + bound.getHostString() + ":" + bound.getPort() + " -> " + peer
                + "/" + service + " (as node "
                + running.agent().identity().nodeKey().nodeId() + ")");
        return AgentRunner.runUntilStopped(out, running);
    }
}
