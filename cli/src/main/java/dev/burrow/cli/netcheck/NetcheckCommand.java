package dev.burrow.cli.netcheck;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.netcheck.Netcheck;
import dev.burrow.agent.netcheck.NetcheckReport;
import dev.burrow.agent.portmap.PortMapProbe;
import dev.burrow.agent.portmap.PortMapProtocol;
import dev.burrow.agent.relay.RelayAddress;
import dev.burrow.cli.common.AgentConfigFile;
import dev.burrow.cli.common.CliJson;
import dev.burrow.cli.common.DurationOption;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import dev.burrow.protocol.HostPort;
import dev.burrow.stun.server.StunServerConfig;
import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.PrintWriter;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
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
import picocli.CommandLine.Spec;

/** {@code burrow netcheck}: UDP reachability, public endpoints, hard NAT, relay latencies and the home relay. */
@Command(
        name = "netcheck",
        mixinStandardHelpOptions = true,
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {
            "0:UDP gets out (a STUN server answered) or a relay is reachable.",
            "1:Neither: no STUN server answered and no relay could be reached.",
            "2:Bad usage (the line names the option)."
        },
        description = {
            "Check this host's network for Burrow: whether UDP gets out, the public IPv4/IPv6 endpoints, "
                    + "whether the NAT maps per destination (hard NAT: direct paths will mostly fail), the latency to each relay "
                    + "and the preferred (home) relay.",
            "Exit code 1 when neither a STUN server nor a relay answered."
        })
public final class NetcheckCommand implements Callable<Integer> {
    /** Output formats. */
    public enum Format {
        TEXT,
        JSON
    }

    @Spec
    CommandSpec spec;

    @Mixin
    TransportOption transport;

    @Option(
            names = "--relay",
            paramLabel = "URL",
            description = "A relay (repeatable), e.g. https://relay.example:443. "
                    + "Its STUN server is asked on the same host, port --relay-stun-port.")
    List<String> relays = new ArrayList<>();

    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            description =
                    "Also check the relays of this agent configuration (relay.url / relays:). Env: BURROW_CONFIG.")
    Path config;

    @Option(
            names = "--relay-stun-port",
            paramLabel = "PORT",
            defaultValue = "3478",
            description = "STUN port of the relays. Default: ${DEFAULT-VALUE}.")
    int relayStunPort;

    @Option(
            names = "--stun",
            paramLabel = "HOST[:PORT]",
            description = "An extra STUN server (repeatable; default port 3478).")
    List<String> stun = new ArrayList<>();

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
            description = "Give up on each server after this long (500ms, 3s; at most 39s). Default: ${DEFAULT-VALUE}.")
    String timeout;

    /** Netcheck's STUN transactions retransmit for at most 39.5 s (RFC 8489), so a longer wait gains nothing. */
    static final Duration MAX_TIMEOUT = Duration.ofSeconds(39);

    @Override
    public Integer call() throws Exception {
        if (config == null
                && relays.isEmpty()
                && stun.isEmpty()
                && System.getenv("BURROW_CONFIG") != null
                && !System.getenv("BURROW_CONFIG").isBlank()) {
            config = Path.of(System.getenv("BURROW_CONFIG").strip());
        }
        if (config != null) {
            AgentConfig c = AgentConfigFile.load(config);
            if (c.relay() != null) {
                c.relay().candidates().forEach(r -> relays.add(r.url().toString()));
            }
        }
        if (relays.isEmpty() && stun.isEmpty()) {
            throw new UsageException("give at least one --relay, --stun, or --config agent.yaml with relays");
        }
        // A bare number was seconds before the one duration grammar: keep such command lines working.
        Duration perServer = DurationOption.parse(
                "--timeout", timeout.strip().matches("\\d{1,2}") ? timeout.strip() + "s" : timeout);
        if (perServer.isZero() || perServer.compareTo(MAX_TIMEOUT) > 0) {
            throw new UsageException("--timeout: more than 0 and at most 39s, got '" + timeout + "'");
        }
        if (relayStunPort < 1 || relayStunPort > 65535) {
            throw new UsageException("--relay-stun-port: 1 to 65535");
        }
        List<Netcheck.RelayTarget> targets = new ArrayList<>();
        for (String r : relays) {
            RelayAddress a;
            try {
                a = RelayAddress.parse(URI.create(r.contains("://") ? r : "https://" + r));
            } catch (RuntimeException e) {
                throw new UsageException("--relay " + r + ": " + e.getMessage());
            }
            targets.add(new Netcheck.RelayTarget(
                    r, new InetSocketAddress(a.host(), a.port()), new InetSocketAddress(a.host(), relayStunPort)));
        }
        List<InetSocketAddress> extra = new ArrayList<>();
        for (String s : stun) {
            extra.add(hostPort(s));
        }
        Transport t = transport.select();
        EventLoopGroup group = t.newEventLoopGroup(1, new DefaultThreadFactory("burrow-netcheck"));
        NetcheckReport report;
        try {
            report = new Netcheck(group, t.datagramChannel(), perServer).run(targets, extra);
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(output == Format.JSON ? json(report) : text(report));
        out.flush();
        return report.udp() || report.preferredRelay() != null ? 0 : 1;
    }

    private static InetSocketAddress hostPort(String s) {
        HostPort hp;
        try {
            hp = HostPort.parseBracketed(s, StunServerConfig.DEFAULT_PORT);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--stun: " + e.getMessage());
        }
        if (hp.port() == 0 || hp.host().isEmpty()) {
            throw new UsageException("--stun " + s + ": expected HOST[:PORT] with a port from 1 to 65535");
        }
        return new InetSocketAddress(hp.host(), hp.port());
    }

    static String text(NetcheckReport r) {
        StringBuilder b = new StringBuilder();
        b.append("UDP:               ")
                .append(
                        r.udp()
                                ? "yes"
                                : "unknown: no STUN server answered (UDP may be blocked, or none listens there: try --stun HOST:PORT); "
                                        + "without UDP, peers use the relay over TCP")
                .append('\n');
        b.append("public IPv4:       ")
                .append(r.ipv4() == null ? "-" : addr(r.ipv4()))
                .append('\n');
        b.append("public IPv6:       ")
                .append(r.ipv6() == null ? "-" : addr(r.ipv6()))
                .append('\n');
        b.append("IPv6 addresses:    ")
                .append(
                        r.ipv6HostAddresses().isEmpty()
                                ? "- (no global IPv6 address: direct paths use IPv4)"
                                : r.ipv6HostAddresses().stream()
                                                .map(io.netty.util.NetUtil::toAddressString)
                                                .collect(java.util.stream.Collectors.joining(", "))
                                        + " (direct-path candidates)")
                .append('\n');
        b.append("mapping varies by destination (hard NAT): ")
                .append(
                        r.mappingVariesByDestination() == null
                                ? "unknown (needs two STUN answers)"
                                : r.mappingVariesByDestination() ? "yes" : "no")
                .append('\n');
        b.append("preferred relay:   ")
                .append(r.preferredRelay() == null ? "-" : r.preferredRelay())
                .append('\n');
        b.append("port mapping:      ").append(portMapping(r.portMapping())).append("\n\n");
        String fmt = "%-40s %-28s %-12s %s%n";
        b.append(String.format(fmt, "STUN SERVER", "MAPPED", "RTT", "ERROR"));
        for (NetcheckReport.StunResult s : r.stun()) {
            b.append(String.format(
                    fmt,
                    addr(s.server()),
                    s.mapped() == null ? "-" : addr(s.mapped()),
                    ms(s.rtt()),
                    s.error() == null ? "" : s.error()));
        }
        if (!r.relays().isEmpty()) {
            b.append('\n');
            String rf = "%-40s %-12s %-12s %s%n";
            b.append(String.format(rf, "RELAY", "STUN RTT", "TCP CONNECT", "ERROR"));
            for (NetcheckReport.RelayLatency l : r.relays()) {
                b.append(String.format(
                        rf, l.relay(), ms(l.stunRtt()), ms(l.tcpConnect()), l.error() == null ? "" : l.error()));
            }
        }
        return b.toString();
    }

    /** "pcp, nat-pmp (gateway 10.1.0.1:5351, external 203.0.113.10)", or why none. */
    static String portMapping(PortMapProbe p) {
        if (p == null) {
            return "- (no IPv4 default gateway, or BURROW_PORTMAP=off)";
        }
        String offered = p.offered().stream().map(PortMapProtocol::label).collect(Collectors.joining(", "));
        String external = p.externalAddress() == null
                ? ""
                : ", external " + p.externalAddress().getHostAddress();
        return (offered.isEmpty() ? "none" : offered) + " (gateway " + addr(p.gateway()) + external + ")"
                + (p.problem() == null ? "" : ": " + p.problem());
    }

    static String json(NetcheckReport r) {
        ObjectNode j = CliJson.object();
        j.put("udp", r.udp());
        j.put("ipv4", r.ipv4() == null ? null : addr(r.ipv4()));
        j.put("ipv6", r.ipv6() == null ? null : addr(r.ipv6()));
        var v6 = j.putArray("ipv6HostAddresses");
        r.ipv6HostAddresses().forEach(a -> v6.add(io.netty.util.NetUtil.toAddressString(a)));
        j.put("mappingVariesByDestination", r.mappingVariesByDestination());
        j.put("preferredRelay", r.preferredRelay());
        PortMapProbe p = r.portMapping();
        if (p == null) {
            j.putNull("portMapping");
        } else {
            ObjectNode pm = j.putObject("portMapping");
            pm.put("gateway", addr(p.gateway()));
            ArrayNode offered = pm.putArray("offered");
            p.offered().forEach(o -> offered.add(o.label()));
            pm.put(
                    "externalAddress",
                    p.externalAddress() == null ? null : p.externalAddress().getHostAddress());
            pm.put("problem", p.problem());
        }
        ArrayNode stun = j.putArray("stun");
        r.stun().forEach(s -> {
            ObjectNode n = stun.addObject();
            n.put("server", addr(s.server()));
            n.put("mapped", s.mapped() == null ? null : addr(s.mapped()));
            n.put("rttMillis", millis(s.rtt()));
            n.put("error", s.error());
        });
        ArrayNode relays = j.putArray("relays");
        r.relays().forEach(l -> {
            ObjectNode n = relays.addObject();
            n.put("relay", l.relay());
            n.put("stunRttMillis", millis(l.stunRtt()));
            n.put("tcpConnectMillis", millis(l.tcpConnect()));
            n.put("error", l.error());
        });
        return CliJson.pretty(j);
    }

    private static String ms(Duration d) {
        return d == null ? "-" : String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    /** Milliseconds with microsecond precision, or null. */
    private static BigDecimal millis(Duration d) {
        return d == null ? null : BigDecimal.valueOf(d.toNanos(), 6).setScale(3, RoundingMode.HALF_UP);
    }

    static String addr(InetSocketAddress a) {
        if (a == null) {
            return "?";
        }
        String host =
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
