package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.LabCapabilities;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.NatBehaviour;
import dev.burrow.netlab.NatRouter;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.NetLabException;
import dev.burrow.netlab.RequiresNetLab;
import java.nio.file.Files;
import java.time.Duration;
import java.time.LocalTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * Measurement for docs/benchmarks.md, run by {@code bench/nat-bench.sh lab} (prints a table, asserts
 * only that every transfer arrived intact): per NAT lab case, both agents with two STUN servers
 * (so each knows its NAT's mapping), b forwarding to a's service:
 *
 * <ul>
 *   <li><b>start → direct</b>: from agent b's first log line (the JVM is up) to its log's "QUIC
 *       connection ... up" (the warm-up finds the path before any connection), or "-" when the case
 *       has not gone direct within the budget;
 *   <li><b>first byte</b>: the forward's first connection, opened when both agents are ready plus
 *       one second: from its TCP connect to the first byte read, and the path it took;
 *   <li><b>probes</b>: disco pings plus spray packets both agents sent, read when the path went
 *       direct or at the end of the budget (punching, spraying and heartbeats so far).
 * </ul>
 *
 * {@code NAT_BENCH_BUDGET} (seconds, default 25) bounds the wait for a direct path per case;
 * {@code NAT_BENCH_CASES} (parts of case names, separated by ';') selects cases.
 */
@RequiresNetLab
@Tag("bench")
@EnabledIfEnvironmentVariable(
        named = "BURROW_BENCH",
        matches = "1",
        disabledReason = "a measurement: BURROW_BENCH=1 to run it")
@Timeout(value = 1800, unit = TimeUnit.SECONDS)
class NatBenchNatTest {
    private static final Pattern STAMP = Pattern.compile("^(\\d\\d:\\d\\d:\\d\\d\\.\\d\\d\\d) ", Pattern.MULTILINE);
    private static final Pattern QUIC_UP = Pattern.compile("QUIC connection (to|from) \\S+ at \\S+ up");
    private static final long SIZE = 256 * 1024;
    private static final Duration AFTER_READY = Duration.ofSeconds(1);

    /** One lab case: builds the hosts a and b in the lab. */
    private record Case(String name, Function<NetLab, Host[]> build) {}

    private static List<Case> cases() {
        return List.of(
                new Case("easy x easy (EIM x EIM)", lab -> new Host[] {
                    lab.addHostBehindNat("a", NatBehaviour.EIM), lab.addHostBehindNat("b", NatBehaviour.EIM)
                }),
                new Case("double NAT (EIM CGN + EIM home, both)", lab -> {
                    NatRouter cgnA = lab.addSite("a-cgn", NatBehaviour.EIM);
                    NatRouter cgnB = lab.addSite("b-cgn", NatBehaviour.EIM);
                    return new Host[] {
                        lab.addSiteBehind(cgnA, "a-gw", NatBehaviour.EIM).addHost("a"),
                        lab.addSiteBehind(cgnB, "b-gw", NatBehaviour.EIM).addHost("b")
                    };
                }),
                new Case("symmetric x easy (SYMMETRIC a, EIM b)", lab -> new Host[] {
                    lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC), lab.addHostBehindNat("b", NatBehaviour.EIM)
                }),
                new Case("symmetric x symmetric", lab -> new Host[] {
                    lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC), lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC)
                }),
                new Case("same NAT, no hairpin (both behind one EIM)", lab -> {
                    NatRouter gw = lab.addSite("ab-gw", NatBehaviour.EIM);
                    return new Host[] {gw.addHost("a"), gw.addHost("b")};
                }),
                new Case("UDP blocked (a), EIM (b)", lab -> new Host[] {
                    lab.addHostBehindNat("a", NatBehaviour.UDP_BLOCKED), lab.addHostBehindNat("b", NatBehaviour.EIM)
                }),
                new Case("public (a) x symmetric (b)", lab ->
                        new Host[] {lab.addPublicHost("a"), lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC)}),
                new Case("miniupnpd PCP on a's router, symmetric x symmetric", lab -> {
                    if (!Files.isExecutable(PortMapNatTest.MINIUPNPD)) {
                        throw new NetLabException("miniupnpd not installed");
                    }
                    NatRouter gw = lab.addSite("a-gw", NatBehaviour.EIM);
                    PortMapNatTest.startMiniupnpd(lab, gw, true);
                    gw.setBehaviour(NatBehaviour.SYMMETRIC);
                    return new Host[] {gw.addHost("a"), lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC)};
                }));
    }

    @Test
    void natCases() {
        assertThat(LabCapabilities.get().usable()).isTrue();
        Duration budget = Duration.ofSeconds(Long.parseLong(env("NAT_BENCH_BUDGET", "25")));
        String only = env("NAT_BENCH_CASES", "");
        List<String> rows = new ArrayList<>();
        for (Case c : cases()) {
            if (!only.isBlank()
                    && java.util.Arrays.stream(only.split(";"))
                            .noneMatch(x -> c.name()
                                    .toLowerCase(Locale.ROOT)
                                    .contains(x.trim().toLowerCase(Locale.ROOT)))) {
                continue;
            }
            String row;
            try (NetLab lab = NetLab.create()) {
                row = measure(c, lab, budget);
            } catch (NetLabException e) {
                row = String.format(Locale.ROOT, "| %s | not run: %s | | | | |", c.name(), e.getMessage());
            }
            System.out.println("NAT-BENCH " + row);
            rows.add(row);
        }
        System.out.println();
        System.out.println(
                "| case | start → direct | first connection: path | first byte | final path (reason at b) | probe packets (a + b) |");
        System.out.println("| --- | --- | --- | --- | --- | --- |");
        rows.forEach(System.out::println);
    }

    private static String measure(Case c, NetLab lab, Duration budget) {
        DirectLab d = new DirectLab(lab).withSecondStun();
        Host[] hosts = c.build().apply(lab);
        Host a = hosts[0];
        Host b = hosts[1];
        d.startAgents(a, b, SIZE, 0);
        sleep(AFTER_READY);
        long firstByte = d.fetchIntactTimed(b, SIZE);
        String firstPath = d.lastForwardPath(b);
        LabProcess agentB = d.agentB;
        LocalTime started = firstStamp(agentB.output());
        String toDirect = "-";
        try {
            agentB.awaitOutput(QUIC_UP.pattern(), remaining(started, budget));
            toDirect =
                    Duration.between(started, stampOf(agentB.output(), QUIC_UP)).toMillis() + " ms";
        } catch (NetLabException e) {
            // not direct within the budget: the row says so
        }
        JsonNode sa = d.status(a, d.stateA);
        JsonNode sb = d.status(b, d.stateB);
        long probes = probes(sa) + probes(sb);
        String spray = sprayNote(sa, sb);
        JsonNode peer = d.peer(b);
        String reason = peer == null ? "?" : peer.path("reason").asText();
        d.fetchIntact(b, SIZE); // every case carries traffic intact, whatever its path
        return String.format(
                Locale.ROOT,
                "| %s | %s | %s | %d ms | %s | %d%s |",
                c.name(),
                toDirect,
                firstPath,
                firstByte,
                reason.replace("|", "/"),
                probes,
                spray);
    }

    private static long probes(JsonNode status) {
        JsonNode s = status.path("direct").path("spray");
        return s.path("discoPings").asLong() + s.path("packets").asLong();
    }

    private static String sprayNote(JsonNode sa, JsonNode sb) {
        long packets = sa.path("direct").path("spray").path("packets").asLong()
                + sb.path("direct").path("spray").path("packets").asLong();
        return packets == 0 ? "" : " (" + packets + " by the spray)";
    }

    private static Duration remaining(LocalTime started, Duration budget) {
        long left =
                budget.toMillis() - Duration.between(started, LocalTime.now()).toMillis();
        return Duration.ofMillis(Math.max(1, left));
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? dflt : v;
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static LocalTime firstStamp(String log) {
        Matcher m = STAMP.matcher(log);
        assertThat(m.find()).as(log).isTrue();
        return LocalTime.parse(m.group(1));
    }

    private static LocalTime stampOf(String log, Pattern p) {
        for (String line : log.split("\n")) {
            Matcher s = STAMP.matcher(line);
            if (p.matcher(line).find() && s.find()) {
                return LocalTime.parse(s.group(1));
            }
        }
        throw new AssertionError("no '" + p + "' in the agent's log:\n" + log);
    }
}
