package dev.burrow.cli.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.cli.common.OutputFormat;
import dev.burrow.identity.StateDirs;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code burrow status}: what the running agent is connected to. */
@Command(
        name = "status",
        mixinStandardHelpOptions = true,
        description =
                "Show the running agent's relay, services, forwards, peers and connections (asks it over its local API).")
public final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--state",
            paramLabel = "DIR",
            description = "State directory of the agent. Default: $" + StateDirs.ENV + ", else ~/"
                    + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FORMAT",
            defaultValue = "text",
            description = "text or json (table: same as text).")
    String output;

    @Option(
            names = "--web",
            description = "Print the URL of the agent's status page (it carries a secret: do not share it). The "
                    + "agent serves the page when started with 'web:' in agent.yaml or --web-listen.")
    boolean web;

    @Override
    public Integer call() throws Exception {
        OutputFormat format = OutputFormat.parse(output);
        AgentStatus s = ControlApiClient.forStateDir(StateDirs.resolve(state)).status();
        PrintWriter out = spec.commandLine().getOut();
        if (web) {
            out.println(WebUrl.read(StateDirs.resolve(state)));
            out.flush();
            return 0;
        }
        if (format == OutputFormat.JSON) {
            out.println(new ObjectMapper()
                    .enable(SerializationFeature.INDENT_OUTPUT)
                    .writeValueAsString(s));
        } else {
            printTable(out, s);
        }
        out.flush();
        return 0;
    }

    /** Our NAT's mapping, each direct socket's port mapping (protocol, external address, lease) and spray counters. */
    static void printDirect(PrintWriter out, AgentStatus.DirectStatus d) {
        out.println("nat       mapping " + d.natMapping().replace('_', '-'));
        for (var m : d.portMappings()) {
            out.println("portmap   " + m.socket() + ": "
                    + (m.protocol() == null
                            ? m.status()
                            : m.protocol() + " " + m.external() + " (lease " + m.lifetimeSeconds() + " s, "
                                    + m.expiresInSeconds() + " s left)"));
        }
        var sp = d.spray();
        if (sp != null && (sp.packets() > 0 || sp.outcomes().values().stream().anyMatch(v -> v > 0))) {
            StringBuilder b = new StringBuilder("spray     " + sp.packets() + " packets, " + sp.sockets() + " sockets");
            sp.outcomes().forEach((k, v) -> {
                if (v > 0) {
                    b.append(", ").append(v).append(' ').append(k.replace('_', ' '));
                }
            });
            out.println(b);
        }
    }

    static void printTable(PrintWriter out, AgentStatus s) {
        out.println("node      " + s.nodeId() + (s.name() == null ? "" : " (" + s.name() + ")"));
        AgentStatus.RelayStatus r = s.relay();
        out.println("relay     " + r.url() + "  " + r.state() + (r.relayId() == null ? "" : "  id=" + r.relayId())
                + (r.mode() == null ? "" : "  " + r.mode())
                + (r.rttMillis() == null ? "" : "  rtt=" + r.rttMillis() + "ms")
                + (r.lastError() == null ? "" : "  last error: " + r.lastError()));
        if (r.candidates() != null && r.candidates().size() > 1) {
            out.println("home      " + r.home() + "  (" + r.homeReason() + "; " + r.switches() + " switches)");
            for (var c : r.candidates()) {
                out.printf(
                        Locale.ROOT,
                        "  %s %-40s %-10s %-9s %s%n",
                        c.home() ? "*" : " ",
                        (c.region() == null ? "" : c.region() + "=") + c.url(),
                        c.state(),
                        c.rttMillis() == null ? "-" : String.format(Locale.ROOT, "%.1fms", c.rttMillis()),
                        c.lastError() == null ? "" : c.lastError());
            }
        }
        out.println("ready     " + (s.ready() ? "yes" : "no: " + s.readyProblem()));
        if (s.configError() != null) {
            out.println("config    NOT RELOADED: " + s.configError());
        }
        out.println("traffic   " + human(s.bytesFromPeers()) + " from peers, " + human(s.bytesToPeers()) + " to peers");
        if (s.direct() != null) {
            printDirect(out, s.direct());
        }
        out.println();
        out.println("SERVICE              TARGET                 OPEN  ALLOW");
        for (var v : s.services()) {
            out.printf(
                    Locale.ROOT,
                    "%-20s %-22s %4d  %s%n",
                    v.name(),
                    v.target(),
                    v.openConnections(),
                    String.join(",", v.allow()));
        }
        if (s.publicServices() != null && !s.publicServices().isEmpty()) {
            out.println();
            out.println("PUBLIC (public ingress: no end-to-end TLS, the relay sees these connections' bytes)");
            for (var p : s.publicServices()) {
                out.printf(
                        Locale.ROOT,
                        "%-20s %-10s %s%n",
                        p.service(),
                        p.state(),
                        p.publicAddress() != null ? p.publicAddress() : p.problem() == null ? "" : p.problem());
            }
        }
        out.println();
        out.println("FORWARD                PEER/SERVICE                      PATH   OPEN  TOTAL FAILED  LAST ERROR");
        for (var f : s.forwards()) {
            out.printf(
                    Locale.ROOT,
                    "%-22s %-33s %-6s %4d %6d %6d  %s%n",
                    f.listen() + (f.listening() ? "" : "!"),
                    shortPeer(f.peer()) + "/" + f.service(),
                    f.path(),
                    f.openConnections(),
                    f.acceptedConnections(),
                    f.failedConnections(),
                    f.lastError() == null ? "" : f.lastError());
        }
        out.println();
        out.println("PEER         NAME         PATH   OPEN  RTT");
        for (var p : s.peers()) {
            out.printf(
                    Locale.ROOT,
                    "%-12s %-12s %-6s %4d  %s%n",
                    shortPeer(p.nodeId()),
                    p.name() == null ? "-" : p.name(),
                    p.path(),
                    p.openConnections(),
                    (p.rttMillis() == null ? "-" : p.rttMillis() + "ms")
                            + (p.reason() != null
                                    ? "  " + p.reason()
                                    : p.endpoint() != null ? " (direct " + p.endpoint() + ")" : " (via relay)"));
        }
        out.println();
        out.println("CONN  DIR       PEER         SERVICE        PATH   LOCAL                   IN        OUT");
        for (var c : s.connections()) {
            out.printf(
                    Locale.ROOT,
                    "%-5d %-9s %-12s %-14s %-6s %-22s %9s %9s%n",
                    c.id(),
                    c.direction(),
                    shortPeer(c.peer()),
                    c.service(),
                    c.path(),
                    c.local(),
                    human(c.bytesFromPeer()),
                    human(c.bytesToPeer()));
        }
        if (s.udp() != null && (s.udp().openFlows() > 0 || !s.udp().drops().isEmpty())) {
            out.println();
            out.println("UDP FLOW  PEER         SERVICE        PATH   LOCAL                  STATE    PKT OUT  PKT IN  "
                    + "OUT       IN        DROPS");
            for (var f : s.udp().flows()) {
                out.printf(
                        Locale.ROOT,
                        "%-9s %-12s %-14s %-6s %-22s %-7s %8d %7d  %-9s %-9s %d%n",
                        f.side(),
                        shortPeer(f.peer()),
                        f.service(),
                        f.path(),
                        f.local(),
                        f.state(),
                        f.packetsToPeer(),
                        f.packetsFromPeer(),
                        human(f.bytesToPeer()),
                        human(f.bytesFromPeer()),
                        f.drops());
            }
            if (s.udp().openFlows() > s.udp().flows().size()) {
                out.println("  (" + s.udp().openFlows() + " flows open, "
                        + s.udp().flows().size() + " shown)");
            }
            out.println("  sealed packets received: " + s.udp().relayPackets() + " through the relay, "
                    + s.udp().directPackets() + " direct");
            if (!s.udp().drops().isEmpty()) {
                out.println("  dropped datagrams: " + s.udp().drops());
            }
        }
        if (!s.recentRefusals().isEmpty()) {
            out.println();
            out.println("RECENT REFUSALS");
            for (var x : s.recentRefusals()) {
                out.println("  " + x.at() + "  " + x.direction() + "  " + shortPeer(x.peer()) + "/" + x.service() + "  "
                        + x.code() + " by " + x.by() + ": " + x.message());
            }
        }
    }

    private static String shortPeer(String id) {
        return id != null && id.length() > 12 ? id.substring(0, 10) + ".." : String.valueOf(id);
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + "B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB"};
        double v = bytes;
        int u = -1;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f%s", v, units[u]);
    }
}
