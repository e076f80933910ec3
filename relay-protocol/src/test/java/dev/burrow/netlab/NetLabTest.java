package dev.burrow.netlab;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The lab's own lifecycle: namespaces, processes and cleanup, including after a crash. */
@RequiresNetLab
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class NetLabTest {

    @Test
    void buildsATopologyAndRemovesEverythingOnClose() {
        NetLab lab = NetLab.create();
        List<Long> pids;
        LabProcess sleeper;
        try (lab) {
            PublicHost server = lab.addPublicHost("server");
            LanHost client = lab.addHostBehindNat("client", NatBehaviour.EIM);
            assertThat(NetLab.namespaceNames())
                    .contains(
                            lab.prefix() + "inet",
                            server.name(),
                            client.name(),
                            client.router().name());
            assertThat(server.ip()).isEqualTo("203.0.113.100");
            assertThat(client.ip()).isEqualTo("10.1.0.10");
            assertThat(client.router().publicAddress().getHostAddress()).isEqualTo("203.0.113.10");
            // A lab not created dual-stack is IPv4 only, as it always was.
            assertThat(client.exec("sysctl", "-n", "net.ipv6.conf.all.disable_ipv6")
                            .stdout()
                            .strip())
                    .isEqualTo("1");
            assertThat(client.ipv6Address()).isEmpty();
            // A process tree (a shell with two children) that must not survive the lab.
            sleeper = client.start("tree", List.of("sh", "-c", "sleep 300 & sleep 300 & wait"));
            org.awaitility.Awaitility.await()
                    .atMost(Duration.ofSeconds(5))
                    .until(() -> client.pids().size() >= 3);
            pids = client.pids();
        }
        assertThat(lab.leftovers()).isEmpty();
        assertThat(NetLab.namespaceNames()).noneMatch(n -> n.startsWith(lab.prefix()));
        assertThat(sleeper.isAlive()).isFalse();
        assertThat(pids)
                .allSatisfy(pid -> assertThat(ProcessHandle.of(pid)
                                .map(ProcessHandle::isAlive)
                                .orElse(false))
                        .isFalse());
    }

    @Test
    void theLabIsSealedFromTheRealNetwork() {
        String rootLinksBefore = Cmd.run("ip", "-o", "link", "show").orThrow().stdout();
        try (NetLab lab = NetLab.create()) {
            lab.addPublicHost("server");
            lab.addHostBehindNat("client", NatBehaviour.EIM);
            // Nothing was added to the root namespace: every veth was created inside lab namespaces.
            assertThat(Cmd.run("ip", "-o", "link", "show")
                            .orThrow()
                            .stdout()
                            .lines()
                            .map(l -> l.replaceAll("^\\d+: ", "").split("[:@]")[0])
                            .toList())
                    .containsExactlyInAnyOrderElementsOf(rootLinksBefore
                            .lines()
                            .map(l -> l.replaceAll("^\\d+: ", "").split("[:@]")[0])
                            .toList());
            // Hosts and routers default-route to the internet router, and it has no default route:
            // a packet for real address space dies there (checked without sending one).
            assertThat(lab.internet().tryExec("ip", "route", "get", "8.8.8.8").ok())
                    .as("no default route on the internet router")
                    .isFalse();
            assertThat(lab.internet().tryExec("ip", "route", "get", "10.1.0.10").ok())
                    .as("private space is not routed on the internet")
                    .isFalse();
        }
    }

    @Test
    void twoLabsInOneJvmDoNotCollide() {
        try (NetLab a = NetLab.create();
                NetLab b = NetLab.create()) {
            assertThat(a.prefix()).isNotEqualTo(b.prefix());
            a.addPublicHost("same");
            b.addPublicHost("same");
            assertThat(NetLab.namespaceNames()).contains(a.prefix() + "same", b.prefix() + "same");
            // Sweeping from one must not touch the other: both owners are alive.
            assertThat(NetLab.sweepStale()).noneMatch(n -> n.startsWith(a.prefix()) || n.startsWith(b.prefix()));
        }
    }

    @Test
    void publicHostsReachEachOtherOverUdpAndIcmp() {
        try (NetLab lab = NetLab.create()) {
            PublicHost server = lab.addPublicHost("server");
            PublicHost client = lab.addPublicHost("client");
            var alt = server.addAddress();
            assertThat(alt.getHostAddress()).startsWith("198.51.100.");
            LabProcess reflector = server.startJava(
                    "reflector", UdpReflector.class.getName(), server.ip() + ":3478", alt.getHostAddress() + ":3478");
            reflector.awaitOutput("^READY", Duration.ofSeconds(20));
            var run = client.runJava(
                    Duration.ofSeconds(20),
                    UdpMappingClient.class.getName(),
                    server.ip() + ":3478",
                    alt.getHostAddress() + ":3478");
            assertThat(run.exitCode()).as(run.output()).isZero();
            // No NAT: both servers see the client's own address and the same port.
            assertThat(run.output())
                    .containsPattern("MAPPED 203\\.0\\.113\\.100:3478 203\\.0\\.113\\.101:\\d+")
                    .containsPattern("MAPPED 198\\.51\\.100\\.100:3478 203\\.0\\.113\\.101:\\d+");
            if (LabCapabilities.get().ping()) {
                assertThat(client.ping(server.address())).isTrue();
                assertThat(client.ping(alt)).isTrue();
            }
        }
    }

    /**
     * A dual-stack lab: a site with routed IPv6 behind a stateful firewall reaches an IPv6 server
     * with its own address (no NAT) and gets the replies, while a datagram nobody on the LAN asked
     * for is dropped at the router (and counted there); the same datagram reaches a host on a site
     * without a firewall, so it is the firewall that stops it. An IPv4-only site in the same lab has
     * no IPv6 at all, and IPv4 still goes through the NAT.
     */
    @Test
    void ipv6SitesReachOutAndTheFirewallDropsUnsolicitedInbound() {
        try (NetLab lab = NetLab.createDualStack()) {
            PublicHost server = lab.addPublicHost("server");
            var server6 = server.addIpv6Address();
            assertThat(server.ipv6()).isEqualTo("2001:db8::100");
            LanHost fw = lab.addHostBehindNat("fw", NatBehaviour.EIM, SiteIpv6.STATEFUL_FIREWALL);
            LanHost open = lab.addHostBehindNat("open", NatBehaviour.EIM, SiteIpv6.OPEN);
            LanHost v4only = lab.addHostBehindNat("v4", NatBehaviour.EIM);
            assertThat(fw.ipv6()).isEqualTo("2001:db8:1::10");
            assertThat(fw.router().ipv6PublicAddress()).isEqualTo(NetLab.ipv6("2001:db8::10"));
            assertThat(open.ipv6()).isEqualTo("2001:db8:2::10");

            // No duplicate address detection: nothing is left tentative, so nothing waits for it.
            for (Namespace ns : List.of(server, fw, fw.router(), open, lab.internet())) {
                assertThat(ns.exec("ip", "-6", "addr", "show", "tentative").stdout())
                        .as("tentative addresses in %s", ns.label())
                        .isBlank();
            }
            assertThat(v4only.exec("sysctl", "-n", "net.ipv6.conf.all.disable_ipv6")
                            .stdout()
                            .strip())
                    .isEqualTo("1");
            assertThat(v4only.ipv6Address()).isEmpty();

            String target6 = "[" + server.ipv6() + "]:3478";
            server.startJava("reflector", UdpReflector.class.getName(), target6, server.ip() + ":3478")
                    .awaitOutput("^READY", Duration.ofSeconds(20));

            // Outbound over IPv6: the server sees the host's own address (no NAT), and the reply passes.
            var out6 = fw.runJava(Duration.ofSeconds(20), UdpMappingClient.class.getName(), target6);
            assertThat(out6.output()).containsPattern("MAPPED \\[2001:db8::100\\]:3478 \\[2001:db8:1::10\\]:\\d+");
            // IPv4 from the same host still goes through the NAT.
            var out4 = fw.runJava(Duration.ofSeconds(20), UdpMappingClient.class.getName(), server.ip() + ":3478");
            assertThat(out4.output()).containsPattern("MAPPED 203\\.0\\.113\\.100:3478 203\\.0\\.113\\.10:\\d+");
            if (LabCapabilities.get().ping()) {
                assertThat(fw.ping(server6)).isTrue();
                assertThat(server.ping(fw.ipv6Address().orElseThrow()))
                        .as("unsolicited echo request through the firewall")
                        .isFalse();
            }

            // Unsolicited inbound: both hosts talk to the reflector from port 40000 and listen; the
            // server then pokes them from another port (a flow neither host started).
            long dropsBefore = fw.router().unsolicitedIpv6Drops();
            LabProcess fwListen = fw.startJava(
                    "listen", UdpMappingClient.class.getName(), "--port", "40000", "--listen-ms", "3000", target6);
            LabProcess openListen = open.startJava(
                    "listen", UdpMappingClient.class.getName(), "--port", "40000", "--listen-ms", "3000", target6);
            fwListen.awaitOutput("^LISTENING", Duration.ofSeconds(20));
            openListen.awaitOutput("^LISTENING", Duration.ofSeconds(20));
            var poke = server.runJava(
                    Duration.ofSeconds(20),
                    UdpMappingClient.class.getName(),
                    "--send-only",
                    "--port",
                    "5000",
                    "[" + fw.ipv6() + "]:40000",
                    "[" + open.ipv6() + "]:40000");
            assertThat(poke.output()).contains("SENT [2001:db8:1::10]:40000", "SENT [2001:db8:2::10]:40000");
            assertThat(openListen.waitFor(Duration.ofSeconds(20))).isZero();
            assertThat(fwListen.waitFor(Duration.ofSeconds(20))).isZero();
            assertThat(openListen.output()).contains("INBOUND [2001:db8::100]:5000 netlab-probe");
            assertThat(fwListen.output()).contains("MAPPED ").doesNotContain("INBOUND");
            assertThat(fw.router().unsolicitedIpv6Drops()).isGreaterThan(dropsBefore);
        }
    }

    /**
     * Two hosts behind IPv6 stateful firewalls punch through both: each sends to the other's address
     * and port, which opens its own firewall for the reply flow, so both hear each other (the IPv6
     * twin of an endpoint-independent NAT pair, with the host's own address as the endpoint).
     */
    @Test
    void hostsBehindIpv6FirewallsPunchThroughEachOther() {
        try (NetLab lab = NetLab.createDualStack()) {
            LanHost a = lab.addHostBehindNat("a", NatBehaviour.SYMMETRIC, SiteIpv6.STATEFUL_FIREWALL);
            LanHost b = lab.addHostBehindNat("b", NatBehaviour.SYMMETRIC, SiteIpv6.STATEFUL_FIREWALL);
            LabProcess pa = a.startJava(
                    "punch", UdpPuncher.class.getName(), "--port", "40000", "--peer", "[" + b.ipv6() + "]:40000");
            LabProcess pb = b.startJava(
                    "punch", UdpPuncher.class.getName(), "--port", "40000", "--peer", "[" + a.ipv6() + "]:40000");
            assertThat(pa.waitFor(Duration.ofSeconds(30))).isZero();
            assertThat(pb.waitFor(Duration.ofSeconds(30))).isZero();
            assertThat(pa.output()).contains("RECEIVED [2001:db8:2::10]:40000");
            assertThat(pb.output()).contains("RECEIVED [2001:db8:1::10]:40000");
        }
    }

    @Test
    void lossAndDelayImpairALink() {
        LabCapabilities caps = LabCapabilities.get();
        try (NetLab lab = NetLab.create()) {
            PublicHost server = lab.addPublicHost("server");
            PublicHost client = lab.addPublicHost("client");
            String target = server.ip() + ":3478";
            server.startJava("reflector", UdpReflector.class.getName(), target)
                    .awaitOutput("^READY", Duration.ofSeconds(20));
            String[] once = {"--tries", "1", "--timeout-ms", "1500", target};

            client.impair(Impairment.loss(100));
            assertThat(client.runJava(Duration.ofSeconds(20), UdpMappingClient.class.getName(), once)
                            .output())
                    .contains("TIMEOUT " + target);
            client.clearImpairment();
            assertThat(client.runJava(Duration.ofSeconds(20), UdpMappingClient.class.getName(), once)
                            .output())
                    .contains("MAPPED " + target);

            NetLabSupport.requireFeature(
                    caps.delay(), "no way to delay a link: no netem and no socat or /dev/net/tun", true);
            client.impair(Impairment.delay(Duration.ofMillis(60)));
            String out = client.runJava(Duration.ofSeconds(20), UdpMappingClient.class.getName(), once)
                    .output();
            assertThat(out).contains("MAPPED " + target);
            // A lower bound is safe to assert: nothing can make the round trip shorter than the added delay.
            java.util.regex.Matcher rtt =
                    java.util.regex.Pattern.compile("RTT \\S+ (\\d+)us").matcher(out);
            assertThat(rtt.find()).as(out).isTrue();
            assertThat(Long.parseLong(rtt.group(1))).isGreaterThanOrEqualTo(60_000);
        }
    }

    @Test
    void shutdownHookCleansUpWhenTheJvmExitsWithoutClose() {
        String prefix = runChildLab("exit", false);
        assertThat(NetLab.namespaceNames()).noneMatch(n -> n.startsWith(prefix));
    }

    @Test
    void sweepRemovesNamespacesOfAKilledRun() {
        String prefix = runChildLab("hang", true);
        // SIGKILL runs no hook, so the namespaces (and the sleeper inside) outlive the JVM until a
        // sweep. Another test JVM creating a lab right now may sweep them first; either way they go.
        List<String> swept = NetLab.sweepStale();
        assertThat(swept)
                .allMatch(n -> !n.contains("-" + ProcessHandle.current().pid() + "-"));
        assertThat(NetLab.namespaceNames()).noneMatch(n -> n.startsWith(prefix));
    }

    @Test
    void staleMeansOwnerGoneAndNeverTouchesOtherNamespaces() throws Exception {
        Process done = new ProcessBuilder("true").start();
        done.waitFor(10, TimeUnit.SECONDS);
        long deadPid = done.pid();
        long me = ProcessHandle.current().pid();
        assertThat(NetLab.isStale("burrow-lab-" + deadPid + "-beef-inet")).isTrue();
        assertThat(NetLab.isStale("burrow-lab-" + deadPid + "-probe")).isTrue();
        assertThat(NetLab.isStale("burrow-lab-" + me + "-beef-inet")).isFalse();
        assertThat(NetLab.isStale("someone-elses-namespace")).isFalse();
        assertThat(NetLab.isStale("burrow-lab-notapid-beef-inet")).isFalse();
    }

    /** Runs {@link CrashingLabMain} in a child JVM (root namespace) and returns its lab prefix. */
    private static String runChildLab(String mode, boolean kill) {
        List<String> cmd = JavaLauncher.command(CrashingLabMain.class.getName(), List.of(mode));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try (var out = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream()))) {
                String prefix = null;
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                StringBuilder seen = new StringBuilder();
                for (String line; prefix == null && System.nanoTime() < deadline && (line = out.readLine()) != null; ) {
                    seen.append(line).append('\n');
                    if (line.startsWith("PREFIX ")) {
                        prefix = line.substring(7).strip();
                    }
                }
                assertThat(prefix).as("child output: %s", seen).isNotNull();
                if (kill) {
                    p.destroyForcibly();
                }
                assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
                return prefix;
            } finally {
                p.destroyForcibly();
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
