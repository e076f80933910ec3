package dev.burrow.relay.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelayConfigLoaderTest {
    @Test
    void yamlEnvAndFlagsLayerInOrder(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("relay.yaml");
        Files.writeString(yaml, """
                listen: 0.0.0.0:8443
                admin-listen: off
                tls: {mode: dev}
                auth: {mode: open}
                limits: {max-clients: 10, send-queue-depth: 64}
                timeouts: {handshake: 3s, write: 500ms}
                """);
        RelayConfig c = RelayConfigLoader.load(
                yaml,
                Map.of("BURROW_LIMITS_MAX_CLIENTS", "20", "BURROW_UNRELATED", "x"),
                Map.of("timeouts.handshake", "4s"),
                false);
        assertThat(c.listen().getPort()).isEqualTo(8443);
        assertThat(c.adminListen()).isNull();
        assertThat(c.limits().maxClients()).isEqualTo(20);
        assertThat(c.limits().sendQueueDepth()).isEqualTo(64);
        assertThat(c.timeouts().handshake()).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.timeouts().write()).isEqualTo(Duration.ofMillis(500));
        assertThat(c.tls().mode()).isEqualTo(RelayConfig.TlsMode.DEV);
    }

    @Test
    void unknownKeysAndBadValuesAreNamed(@TempDir Path dir) throws Exception {
        Path yaml = dir.resolve("relay.yaml");
        Files.writeString(yaml, "auth: {mode: open}\nlimits: {max-clientz: 3}\n");
        assertThatThrownBy(() -> RelayConfigLoader.load(yaml, Map.of(), Map.of(), true))
                .hasMessageContaining("unknown key 'limits.max-clientz'");
        assertThatThrownBy(() -> RelayConfigLoader.fromMap(
                        Map.of("auth.mode", "open", "tls.mode", "dev", "timeouts.write", "soon")))
                .hasMessageContaining("timeouts.write")
                .hasMessageContaining("duration");
        assertThatThrownBy(() -> RelayConfigLoader.fromMap(Map.of("auth.mode", "maybe", "tls.mode", "dev")))
                .hasMessageContaining("auth.mode")
                .hasMessageContaining("allow-list");
        assertThatThrownBy(() -> RelayConfigLoader.fromMap(Map.of("auth.mode", "open")))
                .hasMessageContaining("tls.cert");
        assertThatThrownBy(() ->
                        RelayConfigLoader.fromMap(Map.of("auth.mode", "open", "tls.mode", "dev", "listen", "x:99999")))
                .hasMessageContaining("listen")
                .hasMessageContaining("port");
        assertThatThrownBy(() -> RelayConfigLoader.fromMap(
                        Map.of("auth.mode", "open", "tls.mode", "dev", "limits.client-burst-bytes", "10")))
                .hasMessageContaining("at least");
    }

    @Test
    void meshSettingsComeFromTheChartsEnvironmentYamlAndFlags(@TempDir Path dir) throws Exception {
        // exactly what the Helm chart sets (configmap.yaml): a headless Service name, the pod port, the key path
        RelayConfig env = RelayConfigLoader.load(
                null,
                Map.of(
                        "BURROW_MESH_PEERS", "burrow-relay-mesh.burrow.svc.cluster.local",
                        "BURROW_MESH_PORT", "8443",
                        "BURROW_MESH_KEY_FILE", "/etc/burrow/mesh/mesh.key"),
                Map.of(),
                true);
        assertThat(env.mesh().peers()).containsExactly("burrow-relay-mesh.burrow.svc.cluster.local");
        assertThat(env.mesh().port()).isEqualTo(8443);
        assertThat(env.mesh().keyFile()).isEqualTo(Path.of("/etc/burrow/mesh/mesh.key"));
        assertThat(env.mesh().configured()).isTrue();

        Path yaml = dir.resolve("relay.yaml");
        Files.writeString(yaml, """
                tls: {mode: dev}
                auth: {mode: open}
                mesh:
                  peers: [10.0.0.1:8443, "[fd00::2]:8443", relays.internal]
                  key-file: /k
                  resolve-interval: 2s
                """);
        RelayConfig file = RelayConfigLoader.load(yaml, Map.of(), Map.of("mesh.peers", "a:1,b:2"), false);
        assertThat(file.mesh().peers()).containsExactly("a:1", "b:2"); // the flag wins
        assertThat(file.mesh().resolveInterval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(RelayConfigLoader.load(yaml, Map.of(), Map.of(), false)
                        .mesh()
                        .peers())
                .hasSize(3);

        assertThat(RelayConfigLoader.load(null, Map.of(), Map.of(), true).mesh().configured())
                .isFalse();
        assertThatThrownBy(() -> RelayConfigLoader.load(null, Map.of(), Map.of("mesh.peers", "host:0"), true))
                .hasMessageContaining("mesh.peers");
        assertThatThrownBy(() -> RelayConfigLoader.load(null, Map.of(), Map.of("mesh.port", "70000"), true))
                .hasMessageContaining("mesh.port");
        assertThatThrownBy(() -> RelayConfigLoader.load(null, Map.of("BURROW_MESH_KEY_FILE", ""), Map.of(), true))
                .hasMessageContaining("mesh.key-file");
    }

    @Test
    void ingressRateAndDurationHaveSafeDefaultsAndAreChecked() {
        RelayConfig d = RelayConfigLoader.load(null, Map.of(), Map.of(), true);
        assertThat(d.ingress().connectRatePerIp())
                .isEqualTo(dev.burrow.relay.server.config.IngressConfig.DEFAULT_CONNECT_RATE_PER_IP);
        assertThat(d.ingress().connectBurstPerIp())
                .isEqualTo(dev.burrow.relay.server.config.IngressConfig.DEFAULT_CONNECT_BURST_PER_IP);
        assertThat(d.ingress().maxConnectionDuration()).isEqualTo(Duration.ofHours(1));
        RelayConfig c = RelayConfigLoader.load(
                null,
                Map.of("BURROW_INGRESS_CONNECT_RATE_PER_IP", "2.5"),
                Map.of("ingress.connect-burst-per-ip", "5", "ingress.max-connection-duration", "30m"),
                true);
        assertThat(c.ingress().connectRatePerIp()).isEqualTo(2.5);
        assertThat(c.ingress().connectBurstPerIp()).isEqualTo(5);
        assertThat(c.ingress().maxConnectionDuration()).isEqualTo(Duration.ofMinutes(30));
        assertThatThrownBy(
                        () -> RelayConfigLoader.load(null, Map.of(), Map.of("ingress.connect-rate-per-ip", "0"), true))
                .hasMessageContaining("ingress.connect-rate-per-ip");
        assertThatThrownBy(
                        () -> RelayConfigLoader.load(null, Map.of(), Map.of("ingress.connect-burst-per-ip", "0"), true))
                .hasMessageContaining("ingress.connect-burst-per-ip");
        assertThatThrownBy(() ->
                        RelayConfigLoader.load(null, Map.of(), Map.of("ingress.max-connection-duration", "0s"), true))
                .hasMessageContaining("ingress.max-connection-duration");
    }

    @Test
    void devDefaults() {
        RelayConfig c = RelayConfigLoader.load(null, Map.of(), Map.of(), true);
        assertThat(c.auth().mode()).isEqualTo(RelayConfig.AdmissionMode.OPEN);
        assertThat(c.tls().mode()).isEqualTo(RelayConfig.TlsMode.DEV);
        assertThat(c.listen().getAddress().isLoopbackAddress()).isTrue();
    }

    @Test
    void addresses() {
        assertThat(RelayConfigLoader.parseAddress("[::1]:443").getPort()).isEqualTo(443);
        assertThat(RelayConfigLoader.parseAddress(":9090").getAddress().isAnyLocalAddress())
                .isTrue();
        assertThat(RelayConfigLoader.parseAddress("3478").getPort()).isEqualTo(3478);
    }
}
