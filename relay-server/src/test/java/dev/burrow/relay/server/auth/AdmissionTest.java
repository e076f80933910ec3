package dev.burrow.relay.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.relay.server.testing.TestRelayClient;
import dev.burrow.relay.server.testing.TestRelayClient.Mode;
import dev.burrow.relay.server.testing.TestRelayClient.Options;
import dev.burrow.relay.server.testing.TestRelays;
import dev.burrow.transport.Transport;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** failing admission webhooks (webhook fails closed) and auth on every configuration path (auth configured by file, env or flag behaves the same; bad sources stop startup). */
class AdmissionTest {
    private final NodeIdentity listed = NodeIdentity.ephemeral("listed");
    private final NodeIdentity stranger = NodeIdentity.ephemeral("stranger");

    private static RelayFrame connect(RelayServer relay, NodeIdentity id) throws Exception {
        try (TestRelayClient c =
                TestRelayClient.connect(relay.address(), TestRelays.clientTls(relay), Options.control(Mode.UPGRADE))) {
            return c.authenticate(id, false);
        }
    }

    private static void assertDenied(RelayFrame f, DenyReason reason) {
        assertThat(f).isInstanceOf(RelayFrame.Deny.class);
        assertThat(((RelayFrame.Deny) f).reason()).isEqualTo(reason);
    }

    private static Map<String, String> base() {
        Map<String, String> m = TestRelays.defaults();
        m.remove("auth.mode");
        return m;
    }

    @Test
    void allowListBehavesTheSameFromFileEnvAndFlag(@TempDir Path dir) throws Exception {
        Path allow = dir.resolve("allow.txt");
        Files.writeString(allow, "# fleet\n" + listed.nodeKey().nodeId() + "\n");
        Path yaml = dir.resolve("relay.yaml");
        Files.writeString(yaml, "auth:\n  mode: allow-list\n  allow-file: " + allow + "\n");

        RelayConfig fromFile = RelayConfigLoader.load(yaml, Map.of(), base(), false);
        RelayConfig fromEnv = RelayConfigLoader.load(
                null,
                Map.of("BURROW_AUTH_MODE", "allow-list", "BURROW_AUTH_ALLOW_FILE", allow.toString()),
                base(),
                false);
        Map<String, String> flags = base();
        flags.put("auth.mode", "allow-list");
        flags.put("auth.allow", listed.nodeKey().nodeId());
        RelayConfig fromFlag = RelayConfigLoader.load(null, Map.of(), flags, false);
        for (RelayConfig cfg : new RelayConfig[] {fromFile, fromEnv, fromFlag}) {
            try (RelayServer relay =
                    RelayServer.builder(cfg).transport(Transport.nio()).build().start()) {
                assertDenied(connect(relay, stranger), DenyReason.NOT_ALLOWED);
                assertThat(connect(relay, listed)).isInstanceOf(RelayFrame.ServerAccept.class);
                assertThat(relay.clientCount()).isLessThanOrEqualTo(1);
            }
        }
    }

    @Test
    void authSourcesThatAreSetButUnusableStopStartup(@TempDir Path dir) throws Exception {
        Map<String, String> env = Map.of("BURROW_AUTH_MODE", "allow-list", "BURROW_AUTH_ALLOW_FILE", "");
        assertThatThrownBy(() -> RelayConfigLoader.load(null, env, base(), false))
                .hasMessageContaining("auth.allow-file")
                .hasMessageContaining("BURROW_AUTH_ALLOW_FILE")
                .hasMessageContaining("empty");

        Path missing = dir.resolve("nope.txt");
        RelayConfig cfg = RelayConfigLoader.load(
                null,
                Map.of("BURROW_AUTH_MODE", "allow-list", "BURROW_AUTH_ALLOW_FILE", missing.toString()),
                base(),
                false);
        assertThatThrownBy(() -> RelayServer.builder(cfg)
                        .transport(Transport.nio())
                        .build()
                        .start())
                .isInstanceOf(AdmissionFactory.AuthConfigException.class)
                .hasMessageContaining(missing.toString());

        Path empty = dir.resolve("empty.txt");
        Files.writeString(empty, "# nobody yet\n\n");
        RelayConfig cfg2 = RelayConfigLoader.load(
                null,
                Map.of("BURROW_AUTH_MODE", "allow-list", "BURROW_AUTH_ALLOW_FILE", empty.toString()),
                base(),
                false);
        assertThatThrownBy(() -> RelayServer.builder(cfg2)
                        .transport(Transport.nio())
                        .build()
                        .start())
                .hasMessageContaining("lists no node IDs");

        Map<String, String> ca = base();
        ca.put("auth.mode", "ca");
        RelayConfig cfg3 = RelayConfigLoader.load(null, Map.of(), ca, false);
        assertThatThrownBy(() -> RelayServer.builder(cfg3)
                        .transport(Transport.nio())
                        .build()
                        .start())
                .hasMessageContaining("auth.ca");
        ca.put("auth.ca", dir.resolve("missing-ca.crt").toString());
        RelayConfig cfg4 = RelayConfigLoader.load(null, Map.of(), ca, false);
        assertThatThrownBy(() -> RelayServer.builder(cfg4)
                        .transport(Transport.nio())
                        .build()
                        .start())
                .hasMessageContaining("missing-ca.crt");

        assertThatThrownBy(() -> RelayConfigLoader.load(
                        null, Map.of(), Map.of("listen", "127.0.0.1:0", "tls.mode", "dev"), false))
                .hasMessageContaining("auth.mode is required");
    }

    @Test
    void webhookAdmitsOnlyOnA200AllowTrueAndFailsClosedOtherwise() throws Exception {
        AtomicReference<int[]> status = new AtomicReference<>(new int[] {200});
        AtomicReference<String> body = new AtomicReference<>("{\"allow\":true}");
        AtomicReference<Long> delay = new AtomicReference<>(0L);
        HttpServer hook = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        hook.createContext("/check", ex -> {
            try {
                Thread.sleep(delay.get());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.getRequestBody().readAllBytes();
            byte[] b = body.get().getBytes(StandardCharsets.UTF_8);
            if (status.get()[0] == 302) {
                ex.getResponseHeaders().add("Location", "http://127.0.0.1:1/elsewhere");
            }
            ex.sendResponseHeaders(status.get()[0], b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        hook.setExecutor(java.util.concurrent.Executors.newCachedThreadPool());
        hook.start();
        try {
            Map<String, String> m = new HashMap<>(base());
            m.put("auth.mode", "webhook");
            m.put("auth.webhook-url", "http://127.0.0.1:" + hook.getAddress().getPort() + "/check");
            m.put(
                    "timeouts.handshake",
                    "15s"); // longer than the webhook timeout: the DENY must arrive before the deadline
            m.put(
                    "auth.webhook-timeout",
                    "4s"); // a cold HttpClient on a busy machine is slow; the slow case below waits 6 s
            try (RelayServer relay = TestRelays.start(m)) {
                assertThat(connect(relay, listed)).isInstanceOf(RelayFrame.ServerAccept.class);

                status.set(new int[] {500});
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);

                status.set(new int[] {302});
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);

                status.set(new int[] {200});
                body.set("not json");
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);

                body.set("{\"allow\":true,\"pad\":\"" + "x".repeat(5000) + "\"}");
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);

                body.set("{\"allow\":false}");
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);

                body.set("{\"allow\":true}");
                delay.set(6000L);
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED);
                assertThat(relay.clientCount()).isZero();
            }
            hook.stop(0);
            try (RelayServer relay = TestRelays.start(m)) {
                assertDenied(connect(relay, listed), DenyReason.NOT_ALLOWED); // webhook down
            }
        } finally {
            hook.stop(0);
        }
    }
}
