package dev.burrow.natlab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.burrow.netlab.Host;
import dev.burrow.netlab.JavaLauncher;
import dev.burrow.netlab.LabProcess;
import dev.burrow.netlab.Namespace.Finished;
import dev.burrow.netlab.NetLab;
import dev.burrow.netlab.PublicHost;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;

/**
 * One NAT lab scenario for direct paths: a relay with its STUN server in public, an exposing agent
 * ("a", with a {@link NatTestSource} as its target) and a connecting agent ("b", forwarding a local
 * port to a's service), both real {@code burrow} processes in their namespaces.
 */
final class DirectLab {
    static final Duration START = Duration.ofSeconds(60);
    static final Duration CMD = Duration.ofSeconds(40);
    static final ObjectMapper JSON = new ObjectMapper();
    static final int SOURCE_PORT = 9000;
    static final int FORWARD_PORT = 9100;
    static final long SEED = 42;

    final NetLab lab;
    final PublicHost relayHost;
    final String relayUrl;
    final String fingerprint;
    final Path stateA;
    final Path stateB;
    String idA;
    String idB;
    /** a's service (the program behind its expose). */
    LabProcess source;

    LabProcess agentA;
    LabProcess agentB;
    /** A second STUN server (relay host, port 3479) the agents ask too, or null: with it they learn their NAT's mapping type. */
    String secondStun;

    DirectLab(NetLab lab) {
        this.lab = lab;
        this.relayHost = lab.addPublicHost("relay");
        String ip = relayHost.ip();
        LabProcess relay = relayHost.startBurrow(
                "relay",
                "relay",
                "--dev",
                "--listen",
                ip + ":7443",
                "--stun-listen",
                ip + ":3478",
                "--admin-listen",
                "off");
        Matcher m = relay.awaitOutput("development certificate (sha256:[0-9a-fA-F]+)", START);
        this.fingerprint = m.group(1);
        this.relayUrl = "https://" + ip + ":7443";
        try {
            Path base = Files.createDirectories(Path.of("target", "netlab-direct"));
            this.stateA = Files.createTempDirectory(base.toAbsolutePath(), "a-");
            this.stateB = Files.createTempDirectory(base.toAbsolutePath(), "b-");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Starts a plain STUN server on the relay host's port 3479 and has the agents started afterwards
     * ask it too ({@code BURROW_STUN_SERVERS}): two servers let each agent tell whether its NAT maps
     * per destination (symmetric), which decides hard-NAT spraying.
     */
    DirectLab withSecondStun() {
        secondStun = relayHost.ip() + ":3479";
        relayHost
                .startBurrow("stun-b", "stun-server", "--listen", secondStun, "--threads", "1")
                .awaitOutput("^stun-server: udp", START);
        return this;
    }

    /** Starts {@code burrow args...} in {@code h}, with the second STUN server in its environment when there is one. */
    LabProcess startBurrow(Host h, String label, String... args) {
        if (secondStun == null) {
            return h.startBurrow(label, args);
        }
        List<String> cmd = new ArrayList<>(List.of("env", "BURROW_STUN_SERVERS=" + secondStun));
        cmd.addAll(JavaLauncher.burrow(List.of(args)));
        return h.start(label, cmd);
    }

    /** Starts a's source and agent (exposing "bulk" to b) and b's agent (forwarding FORWARD_PORT to it). */
    void startAgents(Host a, Host b, long sourceBytes, long sourceRate) {
        startAgents(
                a,
                b,
                "source listening",
                NatTestSource.class.getName(),
                "127.0.0.1:" + SOURCE_PORT,
                Long.toString(sourceBytes),
                Long.toString(SEED),
                Long.toString(sourceRate));
    }

    /**
     * As above with another program as a's service on {@code 127.0.0.1:SOURCE_PORT}: {@code mainClass}
     * started with {@code args} in a's namespace, up once it printed {@code upRegex}.
     */
    void startAgents(Host a, Host b, String upRegex, String mainClass, String... args) {
        idB = nodeId(b, stateB);
        idA = nodeId(a, stateA);
        source = a.startJava("source", mainClass, args);
        source.awaitOutput(upRegex, START);
        agentA = startBurrow(
                a,
                "agent",
                "expose",
                "bulk",
                "127.0.0.1:" + SOURCE_PORT,
                "--allow",
                "node:" + idB,
                "--relay",
                relayUrl,
                "--relay-fingerprint",
                fingerprint,
                "--state",
                stateA.toString());
        agentA.awaitOutput("exposing 'bulk'", START);
        agentB = startBurrow(
                b,
                "agent",
                "connect",
                idA + "/bulk",
                Integer.toString(FORWARD_PORT),
                "--relay",
                relayUrl,
                "--relay-fingerprint",
                fingerprint,
                "--state",
                stateB.toString());
        agentB.awaitOutput("forwarding", START);
        await().atMost(START)
                .pollInterval(Duration.ofSeconds(1))
                .until(() ->
                        b.runBurrow(CMD, "ready", "--state", stateB.toString()).exitCode() == 0
                                && a.runBurrow(CMD, "ready", "--state", stateA.toString())
                                                .exitCode()
                                        == 0);
    }

    private static String nodeId(Host h, Path state) {
        Finished f = h.runBurrow(CMD, "id", "--state", state.toString());
        assertThat(f.exitCode()).as(f.output()).isZero();
        Matcher m = java.util.regex.Pattern.compile("node ID:\\s+(\\S+)").matcher(f.output());
        assertThat(m.find()).as(f.output()).isTrue();
        return m.group(1);
    }

    /** Fetches through b's forward; asserts the bytes arrived intact (SHA-256 of the seeded data). */
    void fetchIntact(Host b, long bytes) {
        fetchIntactTimed(b, bytes);
    }

    /** As {@link #fetchIntact}; returns the milliseconds from the TCP connect to the first byte. */
    long fetchIntactTimed(Host b, long bytes) {
        Finished f = b.runJava(Duration.ofSeconds(90), NatTestFetch.class.getName(), "127.0.0.1:" + FORWARD_PORT);
        assertThat(f.exitCode()).as(f.output()).isZero();
        assertThat(f.output()).contains("FETCHED " + bytes + " " + sha(NatTestSource.data(bytes, SEED)));
        Matcher m = java.util.regex.Pattern.compile("FIRST_BYTE_MS (\\d+)").matcher(f.output());
        return m.find() ? Long.parseLong(m.group(1)) : -1;
    }

    JsonNode status(Host h, Path state) {
        Finished f = h.runBurrow(CMD, "status", "-o", "json", "--state", state.toString());
        assertThat(f.exitCode()).as(f.output()).isZero();
        try {
            String out = f.output();
            return JSON.readTree(out.substring(out.indexOf('{')));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The path b's status shows for peer a ("direct" or "relay"), or null when a is not listed. */
    String peerPath(Host b) {
        for (JsonNode p : status(b, stateB).path("peers")) {
            if (p.path("nodeId").asText().equals(idA)) {
                return p.path("path").asText();
            }
        }
        return null;
    }

    JsonNode peer(Host b) {
        for (JsonNode p : status(b, stateB).path("peers")) {
            if (p.path("nodeId").asText().equals(idA)) {
                return p;
            }
        }
        return null;
    }

    /** The path b's forward used for its last connection. */
    String lastForwardPath(Host b) {
        return status(b, stateB).path("forwards").get(0).path("path").asText();
    }

    static String sha(byte[] d) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(d));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
