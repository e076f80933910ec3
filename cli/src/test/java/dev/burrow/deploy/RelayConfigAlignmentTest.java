package dev.burrow.deploy;

import static dev.burrow.deploy.ChartRenderer.values;
import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.relay.server.config.IngressConfig;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayConfig.AdmissionMode;
import dev.burrow.relay.server.config.RelayConfig.TlsMode;
import dev.burrow.relay.server.config.RelayConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The relay.yaml and environment the chart renders, fed to the relay's own {@link RelayConfigLoader}
 * (which refuses unknown keys): if the chart and the relay drift apart, this fails here rather than
 * in a crash-looping pod.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RelayConfigAlignmentTest {
    private static final String POD = "burrow-relay-0";

    private Path work;
    private ChartRenderer helm;

    @BeforeAll
    void start() throws IOException {
        work = Files.createTempDirectory("burrow-chart-align");
        helm = new ChartRenderer(work);
    }

    @AfterAll
    void close() throws IOException {
        helm.close();
        try (var files = Files.walk(work)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private RelayConfig load(Map<String, Object> values) throws IOException {
        Manifests m = helm.render(values);
        Path file = Files.createTempFile(work, "relay", ".yaml");
        Files.writeString(file, m.relayYaml());
        Map<String, String> env = new HashMap<>(m.relayEnv());
        env.put("BURROW_RELAY_ID", POD); // the StatefulSet's fieldRef metadata.name
        return RelayConfigLoader.load(file, env, Map.of(), false);
    }

    @Test
    void defaults() throws IOException {
        RelayConfig c = load(Map.of());
        assertThat(c.listen().getPort()).isEqualTo(8443);
        assertThat(c.listen().getAddress().isAnyLocalAddress()).isTrue();
        assertThat(c.adminListen().getPort()).isEqualTo(9090);
        assertThat(c.stunListen().getPort()).isEqualTo(3478);
        assertThat(c.relayId()).isEqualTo(POD);
        assertThat(c.transport()).isEqualTo("auto");
        assertThat(c.tls().mode()).isEqualTo(TlsMode.FILES);
        assertThat(c.tls().cert()).isEqualTo(Path.of("/etc/burrow/tls/tls.crt"));
        assertThat(c.tls().key()).isEqualTo(Path.of("/etc/burrow/tls/tls.key"));
        assertThat(c.auth().mode()).isEqualTo(AdmissionMode.OPEN);
        assertThat(c.limits()).isEqualTo(RelayConfig.Limits.defaults());
        assertThat(c.timeouts()).isEqualTo(RelayConfig.Timeouts.defaults());
    }

    @Test
    void caAdmission() throws IOException {
        RelayConfig c = load(values(
                "auth.mode",
                "ca",
                "auth.ca.existingConfigMap",
                "fleet-ca",
                "auth.requiredTags",
                List.of("prod", "relay")));
        assertThat(c.auth().mode()).isEqualTo(AdmissionMode.CA);
        assertThat(c.auth().caFiles()).containsExactly(Path.of("/etc/burrow/ca/ca.crt"));
        assertThat(c.auth().requiredTags()).containsExactlyInAnyOrder("prod", "relay");
    }

    @Test
    void allowListAdmission() throws IOException {
        RelayConfig c = load(values(
                "auth.mode",
                "allow-list",
                "auth.allowList",
                List.of("id-one", "id-two"),
                "auth.allowListConfigMap.name",
                "fleet-allow"));
        assertThat(c.auth().mode()).isEqualTo(AdmissionMode.ALLOW_LIST);
        assertThat(c.auth().allow()).containsExactly("id-one", "id-two");
        assertThat(c.auth().allowFile()).isEqualTo(Path.of("/etc/burrow/allow/allow.txt"));
    }

    @Test
    void webhookAdmission() throws IOException {
        RelayConfig c = load(values(
                "auth.mode",
                "webhook",
                "auth.webhook.url",
                "https://admit.example.net/check",
                "auth.webhook.timeout",
                "3s"));
        assertThat(c.auth().mode()).isEqualTo(AdmissionMode.WEBHOOK);
        assertThat(c.auth().webhookUrl()).hasToString("https://admit.example.net/check");
        assertThat(c.auth().webhookTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(c.auth().webhookFailOpen()).isFalse();
    }

    @Test
    void devTlsStunOffIpv6AndTransport() throws IOException {
        RelayConfig c = load(values(
                "tls.mode",
                "dev",
                "tls.dev.hostNames",
                List.of("relay.test"),
                "relay.stun.enabled",
                false,
                "relay.bindAddress",
                "::",
                "relay.transport",
                "epoll"));
        assertThat(c.tls().mode()).isEqualTo(TlsMode.DEV);
        assertThat(c.tls().devHostNames()).containsExactly("relay.test");
        assertThat(c.tls().devDir()).isEqualTo(Path.of("/var/lib/burrow/dev-tls"));
        assertThat(c.stunListen()).isNull();
        assertThat(c.listen().getAddress().getAddress()).hasSize(16);
        assertThat(c.transport()).isEqualTo("epoll");
    }

    @Test
    void limitsAndTimeoutsPassThrough() throws IOException {
        RelayConfig c = load(values(
                "relay.limits",
                Map.of("max-clients", 50000, "client-bytes-per-second", 1048576),
                "relay.timeouts",
                Map.of("handshake", "5s", "client-idle", "3m")));
        assertThat(c.limits().maxClients()).isEqualTo(50000);
        assertThat(c.limits().clientBytesPerSecond()).isEqualTo(1048576);
        assertThat(c.timeouts().handshake()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.timeouts().clientIdle()).isEqualTo(Duration.ofMinutes(3));
    }

    @Test
    void publicIngress() throws IOException {
        RelayConfig c = load(values(
                "ingress.enabled",
                true,
                "ingress.portRange",
                "20000-20099",
                "ingress.staticPorts",
                List.of("nodeid/hook=21000"),
                "ingress.allowNodes",
                List.of("nodeid"),
                "ingress.publicHost",
                "relays.example.net",
                "ingress.settings",
                Map.of(
                        "max-services-per-node",
                        2,
                        "max-connections-per-service",
                        64,
                        "max-connections",
                        1024,
                        "idle-timeout",
                        "2m",
                        "connect-rate-per-ip",
                        5,
                        "connect-burst-per-ip",
                        8,
                        "max-connection-duration",
                        "30m")));
        IngressConfig in = c.ingress();
        assertThat(in.enabled()).isTrue();
        assertThat(in.publicHost()).isEqualTo("relays.example.net");
        assertThat(in.bindAddress().isAnyLocalAddress()).isTrue();
        assertThat(in.portFirst()).isEqualTo(20000);
        assertThat(in.portLast()).isEqualTo(20099);
        assertThat(in.staticPorts()).containsEntry("nodeid/hook", 21000);
        assertThat(in.allowNodes()).containsExactly("nodeid");
        assertThat(in.maxServicesPerNode()).isEqualTo(2);
        assertThat(in.maxConnectionsPerService()).isEqualTo(64);
        assertThat(in.maxConnections()).isEqualTo(1024);
        assertThat(in.idleTimeout()).isEqualTo(Duration.ofMinutes(2));
        assertThat(in.connectRatePerIp()).isEqualTo(5.0);
        assertThat(in.connectBurstPerIp()).isEqualTo(8);
        assertThat(in.maxConnectionDuration()).isEqualTo(Duration.ofMinutes(30));
        assertThat(load(Map.of()).ingress().enabled()).isFalse();
    }

    @Test
    void perPodPublicHostComesFromTheEnvironment() throws IOException {
        Map<String, Object> v = values(
                "ingress.enabled",
                true,
                "ingress.staticPorts",
                List.of("nodeid/hook=21000"),
                "ingress.publicHost",
                "$(BURROW_RELAY_ID).relays.example.net");
        Manifests m = helm.render(v);
        Path file = Files.createTempFile(work, "relay", ".yaml");
        Files.writeString(file, m.relayYaml());
        Map<String, String> env = new HashMap<>(m.relayEnv());
        env.put("BURROW_RELAY_ID", POD);
        // What Kubernetes makes of the container's env entry ($(VAR) expansion).
        env.put("BURROW_INGRESS_PUBLIC_HOST", POD + ".relays.example.net");
        RelayConfig c = RelayConfigLoader.load(file, env, Map.of(), false);
        assertThat(c.ingress().publicHost()).isEqualTo(POD + ".relays.example.net");
    }
}
