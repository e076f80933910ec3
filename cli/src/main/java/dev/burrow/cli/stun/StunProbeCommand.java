package dev.burrow.cli.stun;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.burrow.cli.common.Addresses;
import dev.burrow.cli.common.CliJson;
import dev.burrow.cli.common.DurationOption;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import dev.burrow.stun.client.RetransmissionPolicy;
import dev.burrow.stun.client.StunClient;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.probe.NatProbe;
import dev.burrow.stun.probe.NatProbeReport;
import dev.burrow.stun.probe.ServerObservation;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code burrow stun-probe SERVER...}: NAT mapping and filtering behaviour from this host. */
@Command(
        name = "stun-probe",
        mixinStandardHelpOptions = true,
        description = {
            "Probe this host's NAT with STUN: the public endpoints seen, mapping behaviour (needs two servers, "
                    + "or one RFC 5780 server) and filtering behaviour (needs an RFC 5780 server).",
            "Exit code 1 when no server answered."
        })
public final class StunProbeCommand implements Callable<Integer> {
    /** Output formats. */
    public enum Format {
        TEXT,
        JSON
    }

    @Spec
    CommandSpec spec;

    @Mixin
    TransportOption transport;

    @Parameters(arity = "1..*", paramLabel = "SERVER", description = "STUN servers as HOST[:PORT] (default port 3478).")
    List<String> servers;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FORMAT",
            defaultValue = "text",
            description = "text or json. Default: ${DEFAULT-VALUE}.")
    Format output;

    @Option(
            names = "--timeout",
            paramLabel = "DURATION",
            defaultValue = "3s",
            description =
                    "Give up on a server after this long (RFC 8489 retransmissions within it). Default: ${DEFAULT-VALUE}.")
    String timeout;

    @Option(
            names = "--bind",
            paramLabel = "HOST:PORT",
            defaultValue = "0.0.0.0:0",
            description = "Local socket for every request. Default: ${DEFAULT-VALUE} (use [::]:0 for IPv6 servers).")
    String bind;

    @Override
    public Integer call() throws Exception {
        Duration total = DurationOption.parse("--timeout", timeout);
        if (total.isZero() || total.compareTo(RetransmissionPolicy.MAX_TOTAL) > 0) {
            throw new UsageException("--timeout: must be more than 0 and at most 39s");
        }
        InetSocketAddress local = StunOptions.hostPort("--bind", bind, -1, true, true);
        boolean ipv4 = local.getAddress() instanceof Inet4Address;
        List<InetSocketAddress> targets = new ArrayList<>();
        for (String s : servers) {
            targets.add(StunOptions.hostPort("SERVER", s, StunServerConfig.DEFAULT_PORT, false, ipv4));
        }
        RetransmissionPolicy policy = RetransmissionPolicy.rfc8489Within(total);
        Transport t = transport.select();
        EventLoopGroup group = t.newEventLoopGroup(1, new DefaultThreadFactory("burrow-stun-probe"));
        NatProbeReport report;
        try (StunClient client = StunClient.open(group, t.datagramChannel(), local, policy, StunMetrics.NOOP)) {
            report = new NatProbe(client, policy).run(targets);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(output == Format.JSON ? json(report) : text(report));
        out.flush();
        return report.observations().stream().anyMatch(ServerObservation::succeeded) ? 0 : 1;
    }

    static String text(NatProbeReport r) {
        StringBuilder b = new StringBuilder();
        b.append("local socket: ").append(addr(r.localAddress())).append("\n\n");
        String fmt = "%-32s %-48s %-46s %s%n";
        b.append(String.format(fmt, "TEST", "SERVER", "MAPPED ADDRESS", "TIME"));
        for (ServerObservation o : r.observations()) {
            b.append(String.format(
                    fmt,
                    o.test(),
                    addr(o.server()),
                    o.succeeded() ? addr(o.mapped()) : "-  (" + o.error() + ")",
                    o.elapsed() == null ? "-" : o.elapsed().toMillis() + " ms"));
        }
        b.append('\n');
        b.append("mapping behaviour:   ").append(r.mapping().label()).append('\n');
        b.append("filtering behaviour: ").append(r.filtering().label()).append('\n');
        b.append("public endpoints:    ")
                .append(
                        r.publicEndpoints().isEmpty()
                                ? "none"
                                : r.publicEndpoints().stream()
                                        .map(StunProbeCommand::addr)
                                        .collect(Collectors.joining(", ")))
                .append('\n');
        b.append("NAT:                 ")
                .append(
                        r.natDetected() == null
                                ? "unknown"
                                : r.natDetected()
                                        ? "yes (mapped address differs from the local one)"
                                        : "no (mapped address is local)")
                .append('\n');
        return b.toString();
    }

    static String json(NatProbeReport r) {
        ObjectNode j = CliJson.object();
        j.put("local", addr(r.localAddress()));
        j.put("mapping", r.mapping().name().toLowerCase(Locale.ROOT));
        j.put("filtering", r.filtering().name().toLowerCase(Locale.ROOT));
        if (r.natDetected() == null) {
            j.putNull("nat");
        } else {
            j.put("nat", r.natDetected());
        }
        ArrayNode endpoints = j.putArray("publicEndpoints");
        r.publicEndpoints().forEach(a -> endpoints.add(addr(a)));
        ArrayNode observations = j.putArray("observations");
        for (ServerObservation o : r.observations()) {
            ObjectNode n = observations.addObject();
            n.put("test", o.test());
            n.put("server", addr(o.server()));
            n.put("mapped", o.succeeded() ? addr(o.mapped()) : null);
            n.put("millis", o.elapsed() == null ? null : o.elapsed().toMillis());
            n.put("error", o.error());
        }
        return CliJson.pretty(j);
    }

    static String addr(InetSocketAddress a) {
        return a == null ? "?" : Addresses.text(a);
    }
}
