package dev.burrow.cli.stun;

import dev.burrow.cli.TransportOption;
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
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
@Command(name = "stun-probe", mixinStandardHelpOptions = true,
        description = {"Probe this host's NAT with STUN: the public endpoints seen, mapping behaviour (needs two servers, "
            + "or one RFC 5780 server) and filtering behaviour (needs an RFC 5780 server).",
            "Exit code 1 when no server answered."})
public final class StunProbeCommand implements Callable<Integer> {
    /** Output formats. */
    public enum Format { TEXT, JSON }

    @Spec
    CommandSpec spec;

    @Mixin
    TransportOption transport;

    @Parameters(arity = "1..*", paramLabel = "SERVER", description = "STUN servers as HOST[:PORT] (default port 3478).")
    List<String> servers;

    @Option(names = {"-o", "--output"}, paramLabel = "FORMAT", defaultValue = "text",
            description = "text or json. Default: ${DEFAULT-VALUE}.")
    Format output;

    @Option(names = "--timeout", paramLabel = "DURATION", defaultValue = "3s",
            description = "Give up on a server after this long (RFC 8489 retransmissions within it). Default: ${DEFAULT-VALUE}.")
    String timeout;

    @Option(names = "--bind", paramLabel = "HOST:PORT", defaultValue = "0.0.0.0:0",
            description = "Local socket for every request. Default: ${DEFAULT-VALUE} (use [::]:0 for IPv6 servers).")
    String bind;

    @Override
    public Integer call() throws Exception {
        Duration total = StunOptions.duration("--timeout", timeout);
        if (total.isZero() || total.compareTo(RetransmissionPolicy.MAX_TOTAL) > 0) {
            throw new dev.burrow.cli.UsageException("--timeout: must be more than 0 and at most 39s");
        }
        InetSocketAddress local = StunOptions.hostPort("--bind", bind, -1, true, true);
        boolean ipv4 = local.getAddress() instanceof java.net.Inet4Address;
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
            b.append(String.format(fmt, o.test(), addr(o.server()),
                    o.succeeded() ? addr(o.mapped()) : "-  (" + o.error() + ")",
                    o.elapsed() == null ? "-" : o.elapsed().toMillis() + " ms"));
        }
        b.append('\n');
        b.append("mapping behaviour:   ").append(r.mapping().label()).append('\n');
        b.append("filtering behaviour: ").append(r.filtering().label()).append('\n');
        b.append("public endpoints:    ").append(r.publicEndpoints().isEmpty() ? "none"
                : r.publicEndpoints().stream().map(StunProbeCommand::addr).collect(Collectors.joining(", "))).append('\n');
        b.append("NAT:                 ").append(r.natDetected() == null ? "unknown"
                : r.natDetected() ? "yes (mapped address differs from the local one)" : "no (mapped address is local)").append('\n');
        return b.toString();
    }

    static String json(NatProbeReport r) {
        StringBuilder b = new StringBuilder();
        b.append("{\n  \"local\": ").append(str(addr(r.localAddress()))).append(",\n");
        b.append("  \"mapping\": ").append(str(r.mapping().name().toLowerCase(java.util.Locale.ROOT))).append(",\n");
        b.append("  \"filtering\": ").append(str(r.filtering().name().toLowerCase(java.util.Locale.ROOT))).append(",\n");
        b.append("  \"nat\": ").append(r.natDetected() == null ? "null" : r.natDetected().toString()).append(",\n");
        b.append("  \"publicEndpoints\": [")
                .append(r.publicEndpoints().stream().map(a -> str(addr(a))).collect(Collectors.joining(", "))).append("],\n");
        b.append("  \"observations\": [");
        List<String> items = new ArrayList<>();
        for (ServerObservation o : r.observations()) {
            items.add("\n    {\"test\": " + str(o.test()) + ", \"server\": " + str(addr(o.server()))
                    + ", \"mapped\": " + (o.succeeded() ? str(addr(o.mapped())) : "null")
                    + ", \"millis\": " + (o.elapsed() == null ? "null" : Long.toString(o.elapsed().toMillis()))
                    + ", \"error\": " + (o.error() == null ? "null" : str(o.error())) + "}");
        }
        b.append(String.join(",", items)).append(items.isEmpty() ? "" : "\n  ").append("]\n}\n");
        return b.toString();
    }

    static String addr(InetSocketAddress a) {
        if (a == null) {
            return "?";
        }
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private static String str(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
