package dev.burrow.dataplane;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.e2e.AdminMetrics;
import dev.burrow.e2e.BurrowProcess;
import dev.burrow.fault.Transfer;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.testing.FreePorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The processes of one data-plane test, all on loopback: a relay (with its STUN server, so agents
 * can find a direct path to each other) and agents, each a real {@code burrow} JVM ({@link
 * BurrowProcess}). The usual layout ({@link #standard}): "alice" exposes the test's services to
 * "bob" and "dave"; bob has direct paths on and reaches alice over the direct QUIC path once it is
 * verified, dave has them off ({@code BURROW_DIRECT=off}) and reaches alice over the relay only. So
 * one cluster carries streams on both paths at once, and a test names which by the forward it uses.
 *
 * <p>{@link #close()} kills every process it started, by PID.
 */
final class Cluster implements AutoCloseable {
    static final Duration STARTUP = Duration.ofSeconds(240);
    /**
     * Paranoid leak detection in the children, as the fault tests do; only where the test is about
     * faults ({@link #paranoid}): it tracks every buffer, which costs the bulk and many-connection
     * tests most of their CPU. Netty's default (sampled) detection still reports leaks elsewhere.
     */
    static final Map<String, String> LEAK_DETECTION = Map.of(
            "JAVA_TOOL_OPTIONS", "-Dio.netty.leakDetection.level=paranoid -Dio.netty.leakDetection.targetRecords=4");

    /** One agent: its process (replaced on restart), state directory, configuration and metrics port. */
    final class Agent {
        final String name;
        final NodeIdentity identity;
        final boolean direct;
        final int metricsPort;
        Path yaml;
        BurrowProcess process;
        int generation;

        Agent(String name, boolean direct) throws IOException {
            this.name = name;
            this.direct = direct;
            this.identity = NodeIdentity.loadOrCreate(stateDir(), name, Clock.systemUTC());
            this.metricsPort = freePort();
        }

        Path stateDir() {
            return tmp.resolve(name);
        }

        String nodeId() {
            return identity.nodeKey().nodeId();
        }

        void start() throws IOException {
            Map<String, String> env = new HashMap<>(leakDetection());
            // -Dburrow.dataplane.log-level=DEBUG: the agents' log level (to chase a failure)
            String level = System.getProperty("burrow.dataplane.log-level");
            if (level != null && !level.isBlank()) {
                env.put("BURROW_LOG_LEVEL", level);
                // the jar's logging, not a test jar's logback-test.xml that the class path also holds
                env.merge("JAVA_TOOL_OPTIONS", "-Dlogback.configurationFile=logback.xml", (x, y) -> x + " " + y);
            }
            if (direct) {
                env.put("BURROW_STUN_SERVERS", "127.0.0.1:" + stunPort);
            } else {
                env.put("BURROW_DIRECT", "off");
            }
            process = BurrowProcess.start(
                    prefix + name + "-" + generation++,
                    env,
                    "agent",
                    "--config",
                    yaml.toString(),
                    "--state",
                    stateDir().toString(),
                    "--metrics-listen",
                    "127.0.0.1:" + metricsPort);
            all.add(process);
        }

        AgentStatus status() throws IOException {
            return ControlApiClient.forStateDir(stateDir()).status();
        }

        String statusText() {
            try {
                return String.valueOf(ControlApiClient.forStateDir(stateDir())
                        .get("/v1/status")
                        .body());
            } catch (IOException | RuntimeException e) {
                return "(no status: " + e + ")";
            }
        }

        boolean ready() {
            try {
                return ControlApiClient.forStateDir(stateDir()).ready().status() == 200;
            } catch (IOException e) {
                return false;
            }
        }

        /** The sum of this agent's Prometheus samples whose line starts with {@code nameAndLabels}. */
        double metric(String nameAndLabels) {
            return AdminMetrics.sample(metricsPort, nameAndLabels);
        }

        /** The path this agent's status gives for streams to {@code peer} ("direct" or "relay"), or null. */
        String pathTo(Agent peer) throws IOException {
            for (AgentStatus.PeerStatus p : status().peers()) {
                if (p.nodeId().equals(peer.nodeId())) {
                    return p.path();
                }
            }
            return null;
        }
    }

    final Path tmp;
    final String prefix;
    /** Whether the processes run with paranoid leak detection ({@link #LEAK_DETECTION}). */
    boolean paranoid;

    final int relayPort;
    final int adminPort;
    final int stunPort;
    final Map<String, Agent> agents = new LinkedHashMap<>();
    final List<BurrowProcess> all = new ArrayList<>();
    String fingerprint;
    BurrowProcess relay;
    int relayGeneration;

    Cluster(String prefix) throws IOException {
        this.prefix = "dataplane-" + prefix + "-";
        this.tmp = Files.createTempDirectory("burrow-dataplane-");
        this.relayPort = freePort();
        this.adminPort = freePort();
        this.stunPort = freeUdpPort();
    }

    /**
     * A relay with STUN, and alice exposing {@code services} (each entry a YAML flow mapping without
     * its {@code allow}, which admits bob and dave unless the entry has its own) to bob (direct paths
     * on, forwards on {@code bobForwards}) and dave (relay only, {@code daveForwards}); each forward
     * maps a service name to a local port.
     */
    static Cluster standard(String prefix, Map<String, String> services, List<String> forwardedServices)
            throws Exception {
        return standard(prefix, services, forwardedServices, false);
    }

    /** As above, with paranoid leak detection in every process when {@code paranoid}. */
    static Cluster standard(
            String prefix, Map<String, String> services, List<String> forwardedServices, boolean paranoid)
            throws Exception {
        Cluster c = new Cluster(prefix);
        c.paranoid = paranoid;
        try {
            c.startRelay();
            Agent alice = c.agent("alice", true);
            Agent bob = c.agent("bob", true);
            Agent dave = c.agent("dave", false);
            StringBuilder expose = new StringBuilder("expose:\n");
            services.forEach((name, body) -> {
                String allow = body.contains("allow:")
                        ? ""
                        : ", allow: [node:" + bob.nodeId() + ", node:" + dave.nodeId() + "]";
                expose.append("  - {name: ")
                        .append(name)
                        .append(", ")
                        .append(body)
                        .append(allow)
                        .append("}\n");
            });
            c.configure(alice, expose.toString());
            for (Agent dialer : List.of(bob, dave)) {
                StringBuilder fwd = new StringBuilder("peers:\n  alice: " + alice.nodeId() + "\nforward:\n");
                for (String service : forwardedServices) {
                    fwd.append("  - {peer: alice, service: ")
                            .append(service)
                            .append(", listen: ")
                            .append(c.forwardPort(dialer, service))
                            .append("}\n");
                }
                c.configure(dialer, fwd.toString());
            }
            for (Agent a : c.agents.values()) {
                a.start();
            }
            for (Agent a : c.agents.values()) {
                c.awaitReady(a);
            }
            return c;
        } catch (Exception | Error e) {
            c.close();
            throw e;
        }
    }

    private final Map<String, Integer> forwardPorts = new HashMap<>();

    Map<String, String> leakDetection() {
        // -Dburrow.dataplane.paranoid=true: every test's processes (to chase a leak report)
        return paranoid || Boolean.getBoolean("burrow.dataplane.paranoid") ? LEAK_DETECTION : Map.of();
    }

    /** The local port of {@code dialer}'s forward to {@code service} (chosen on first use). */
    int forwardPort(Agent dialer, String service) {
        return forwardPorts.computeIfAbsent(dialer.name + "/" + service, k -> {
            try {
                return freePort();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    Agent agent(String name) {
        return agents.get(name);
    }

    Agent agent(String name, boolean direct) throws IOException {
        Agent a = new Agent(name, direct);
        agents.put(name, a);
        return a;
    }

    /** Writes the agent's configuration: the relay section, then {@code body}. */
    void configure(Agent a, String body) throws IOException {
        a.yaml = tmp.resolve(a.name + ".yaml");
        Files.writeString(
                a.yaml,
                "relay:\n  url: https://127.0.0.1:" + relayPort + "\n  fingerprint: " + fingerprint + "\n" + body);
    }

    /** Starts the relay (again: same ports, same development certificate). */
    BurrowProcess startRelay() throws Exception {
        BurrowProcess p = BurrowProcess.start(
                prefix + "relay-" + relayGeneration++,
                leakDetection(),
                "relay",
                "--dev",
                "--listen",
                "127.0.0.1:" + relayPort,
                "--admin-listen",
                "127.0.0.1:" + adminPort,
                "--stun-listen",
                "127.0.0.1:" + stunPort,
                "--relay-id",
                "dataplane-relay",
                "--drain-grace",
                "1s",
                "--set",
                "tls.dev-dir=" + tmp.resolve("relay-tls"),
                // every relayed stream may be a new TCP connection from 127.0.0.1: lift the per-IP connect rate
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000");
        all.add(p);
        relay = p;
        Pattern fp = Pattern.compile("development certificate (\\S+)");
        String[] found = new String[1];
        await("relay up").atMost(STARTUP).pollInterval(Duration.ofMillis(200)).until(() -> {
            if (!p.isAlive()) {
                throw new AssertionError("relay exited: " + p.logText());
            }
            Matcher m = fp.matcher(p.logText());
            if (m.find()) {
                found[0] = m.group(1);
                return true;
            }
            return false;
        });
        if (fingerprint != null) {
            assertThat(found[0]).as("restarted relay keeps its certificate").isEqualTo(fingerprint);
        }
        fingerprint = found[0];
        return p;
    }

    void awaitReady(Agent a) {
        await(a.name + " ready")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(250))
                .until(() -> {
                    if (!a.process.isAlive()) {
                        throw new AssertionError(a.name + " exited: " + a.process.logText());
                    }
                    return a.ready();
                });
    }

    /**
     * Waits until {@code dialer}'s status says its streams to {@code peer} take the direct path,
     * sending small transfers through {@code port} meanwhile (a stream is what makes an agent want
     * a peer's direct path).
     */
    void awaitDirect(Agent dialer, Agent peer, int port) {
        await(dialer.name + " reaches " + peer.name + " over the direct path")
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(500))
                .until(() -> {
                    new Transfer(port, 64 * 1024, System.nanoTime()).run();
                    return "direct".equals(dialer.pathTo(peer));
                });
    }

    /** A fresh transfer through {@code port} completes intact (retrying while paths come back). */
    static void awaitTransferWorks(int port) {
        await("a new transfer through " + port + " works")
                .atMost(Duration.ofSeconds(120))
                .pollInterval(Duration.ofMillis(500))
                .until(() ->
                        new Transfer(port, 1L << 20, System.nanoTime()).run().kind() == Transfer.Kind.COMPLETE);
    }

    /**
     * What each agent counted about its streams (ended by outcome, refused, abandoned) and its status,
     * for a failed test's output.
     */
    String diagnostics() {
        StringBuilder b = new StringBuilder();
        for (Agent a : agents.values()) {
            b.append("---- ").append(a.name).append(" metrics:\n");
            for (String line : AdminMetrics.text(a.metricsPort).split("\n")) {
                if (line.startsWith("burrow_agent_streams_") && !line.startsWith("#")) {
                    b.append("  ").append(line).append('\n');
                }
            }
            b.append("---- ")
                    .append(a.name)
                    .append(" status: ")
                    .append(a.statusText())
                    .append('\n');
        }
        return b.toString();
    }

    /** No process logged a Netty leak report. */
    void assertNoLeakReports() {
        for (BurrowProcess p : all) {
            assertThat(p.leakReports())
                    .as("Netty leak reports in %s (%s)", p.name, p.log)
                    .isEmpty();
        }
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    static int freeUdpPort() throws IOException {
        return FreePorts.free(); // free for UDP too
    }

    @Override
    public void close() {
        for (BurrowProcess p : all) {
            if (p.isAlive()) {
                try {
                    p.kill9();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
        try (var files = Files.walk(tmp)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(f -> f.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
