package dev.burrow.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Forwards across reloads ({@link AgentForwards}): an unchanged forward keeps its port (and with it
 * its connections), a removed one stops listening, a new one binds; TCP and UDP alike. The relay is
 * unreachable: forwards listen regardless.
 */
class AgentForwardsReloadTest {
    private static final String RELAY =
            "relay:\n  url: https://127.0.0.1:1\n  fingerprint: sha256:" + "00".repeat(32) + "\n";
    private static final String PEER = NodeIdentity.ephemeral("alice").nodeKey().nodeId();

    @TempDir
    Path tmp;

    private Agent agent;

    @AfterEach
    void stop() {
        if (agent != null) {
            agent.close();
        }
    }

    private AgentConfig config(String forwards) throws Exception {
        Path file = tmp.resolve("agent.yaml");
        Files.writeString(file, RELAY + "forward:\n" + forwards, StandardCharsets.UTF_8);
        return AgentConfig.load(file);
    }

    // One fixed port per service for the whole test (a forward's listen address is part of what it is).
    private final Map<String, Integer> ports = new HashMap<>();

    private String forward(String service, String protocol) {
        int port = ports.computeIfAbsent(service, s -> freePort(protocol.equals("udp")));
        return "  - {peer: " + PEER + ", service: " + service + ", listen: 127.0.0.1:" + port + ", protocol: "
                + protocol + "}\n";
    }

    private static int freePort(boolean udp) {
        try {
            if (udp) {
                try (DatagramSocket d = new DatagramSocket(0)) {
                    return d.getLocalPort();
                }
            }
            try (ServerSocket t = new ServerSocket(0)) {
                return t.getLocalPort();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void unchangedForwardsKeepTheirPortsRemovedOnesCloseAndNewOnesBind() throws Exception {
        agent = Agent.start(
                config(forward("web", "tcp") + forward("db", "tcp") + forward("dns", "udp")),
                NodeIdentity.loadOrCreate(tmp.resolve("state")),
                Transport.nio());
        List<InetSocketAddress> before = agent.forwardAddresses();
        assertThat(before).hasSize(3);
        InetSocketAddress web = before.get(0);
        InetSocketAddress db = before.get(1);
        InetSocketAddress dns = before.get(2);
        try (Socket held = new Socket(web.getAddress(), web.getPort())) {
            agent.reload(config(forward("web", "tcp") + forward("ssh", "tcp") + forward("dns", "udp")));

            List<InetSocketAddress> after = agent.forwardAddresses();
            assertThat(after).hasSize(3);
            assertThat(after.get(0)).isEqualTo(web); // kept
            assertThat(after).contains(dns); // kept
            assertThat(after).doesNotContain(db); // removed
            InetSocketAddress ssh = after.get(1);
            assertThat(ssh).isNotIn(web, db);
            // The kept forward still holds the connection (it waits for the relay): a read times out, no EOF.
            held.setSoTimeout(300);
            assertThatThrownBy(() -> held.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);
            try (Socket again = new Socket(ssh.getAddress(), ssh.getPort())) {
                assertThat(again.isConnected()).isTrue();
            }
            assertThat(agent.readyProblem()).startsWith("relay"); // no forward is reported as not listening
        }
        agent.reload(config(forward("web", "tcp")));
        assertThat(agent.forwardAddresses()).containsExactly(web);
    }
}
