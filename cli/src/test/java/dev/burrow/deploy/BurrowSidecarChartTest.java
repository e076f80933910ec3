package dev.burrow.deploy;

import static dev.burrow.deploy.ChartRenderer.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.marcnuri.helm.LintResult;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.caller.ProxyProtocol;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The burrow-sidecar chart: lint --strict, the two examples in deploy/examples (beside a server,
 * beside a client), and value sets for each identity source and the native-sidecar form. The
 * rendered agent.yaml is parsed by the agent's own {@link AgentConfig}, so the chart cannot drift
 * from what the agent accepts.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BurrowSidecarChartTest {
    static final String RELEASE = "app";
    static final String FULLNAME = "app-burrow-sidecar";
    static final String NODE_ID = "b73kp6wsvaftd54b5k5h7nzseiqvl3zi5t2ptmslewkkw5vhmqmq3his";

    Path work;
    ChartRenderer helm;

    @BeforeAll
    void setUp() throws IOException {
        work = Files.createTempDirectory("burrow-sidecar-chart-test");
        helm = new ChartRenderer(work, "burrow-sidecar", RELEASE);
    }

    @AfterAll
    void close() throws IOException {
        helm.close();
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }

    static Path example(String name) {
        return ChartRenderer.chartDir("burrow-sidecar")
                .getParent()
                .getParent()
                .resolve("examples")
                .resolve(name);
    }

    static AgentConfig agentConfig(Manifests m) {
        String yaml = m.get("ConfigMap", FULLNAME + "-agent")
                .path("data")
                .path("agent.yaml")
                .asText();
        return AgentConfig.parse(yaml, null);
    }

    static JsonNode podSpec(Manifests m) {
        return m.get("Deployment", FULLNAME).path("spec").path("template").path("spec");
    }

    static JsonNode container(JsonNode list, String name) {
        for (JsonNode c : list) {
            if (name.equals(c.path("name").asText())) {
                return c;
            }
        }
        throw new AssertionError("no container " + name + " in " + list);
    }

    static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static String env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (name.equals(e.path("name").asText())) {
                return e.has("value")
                        ? e.path("value").asText()
                        : e.path("valueFrom").toString();
            }
        }
        return null;
    }

    @Test
    void lintStrictPasses() {
        LintResult result = ChartRenderer.lintStrict("burrow-sidecar");
        assertThat(result.isFailed())
                .as(String.join("\n", result.getMessages()))
                .isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    @Test
    void defaultsRenderOnlyTheAgentConfig() {
        Manifests m = helm.render();
        assertThat(m.names()).containsExactly("ConfigMap/" + FULLNAME + "-agent");
        assertThat(agentConfig(m).relay().url().toString()).isEqualTo("https://relay.example.com");
    }

    @Test
    void besideAServerTheExampleExposesRedisWithAJoinTokenAndAHardenedSidecar() {
        Manifests m = helm.render(example("sidecar-server.yaml"));
        assertThat(m.names()).containsExactlyInAnyOrder("ConfigMap/" + FULLNAME + "-agent", "Deployment/" + FULLNAME);
        AgentConfig c = agentConfig(m);
        assertThat(c.exposes()).hasSize(1);
        assertThat(c.exposes().get(0).name()).isEqualTo("redis");
        assertThat(c.exposes().get(0).target().port()).isEqualTo(6379);
        assertThat(c.exposes().get(0).allow().texts()).containsExactly("tag:app");
        assertThat(c.fleetCas()).containsExactly(Path.of("/etc/burrow/fleet-ca/ca.crt"));

        JsonNode pod = podSpec(m);
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("securityContext")
                        .path("seccompProfile")
                        .path("type")
                        .asText())
                .isEqualTo("RuntimeDefault");
        assertThat(pod.path("automountServiceAccountToken").asBoolean(true)).isFalse();
        assertThat(pod.has("initContainers")).isFalse();
        JsonNode burrow = container(pod.path("containers"), "burrow");
        container(pod.path("containers"), "redis");
        assertThat(texts(burrow.path("args"))).containsExactly("agent");
        assertThat(env(burrow, "BURROW_CONFIG")).isEqualTo("/etc/burrow/agent/agent.yaml");
        assertThat(env(burrow, "BURROW_STATE")).isEqualTo("/var/lib/burrow");
        assertThat(env(burrow, "BURROW_JOIN_TOKEN"))
                .contains("redis-burrow-join")
                .contains("token");
        assertThat(env(burrow, "BURROW_NAME")).isEqualTo("redis-cache");
        assertThat(texts(burrow.path("readinessProbe").path("exec").path("command")))
                .contains("ready", "--quiet", "/var/lib/burrow");
        assertThat(texts(burrow.path("startupProbe").path("exec").path("command")))
                .contains("ready");
        JsonNode sc = burrow.path("securityContext");
        assertThat(sc.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(sc.path("allowPrivilegeEscalation").asBoolean(true)).isFalse();
        assertThat(texts(sc.path("capabilities").path("drop"))).containsExactly("ALL");
        Map<String, JsonNode> volumes = new java.util.HashMap<>();
        pod.path("volumes").forEach(v -> volumes.put(v.path("name").asText(), v));
        assertThat(volumes)
                .containsKeys("burrow-agent-config", "burrow-state", "burrow-tmp", "burrow-fleet-ca", "redis-data");
        assertThat(volumes.get("burrow-state").has("emptyDir")).isTrue();
        assertThat(volumes.get("burrow-agent-config")
                        .path("configMap")
                        .path("name")
                        .asText())
                .isEqualTo(FULLNAME + "-agent");
        assertThat(volumes.get("burrow-fleet-ca")
                        .path("secret")
                        .path("secretName")
                        .asText())
                .isEqualTo("burrow-fleet-ca");
        assertThat(m.get("Deployment", FULLNAME)
                        .path("spec")
                        .path("template")
                        .path("metadata")
                        .path("annotations")
                        .path("checksum/agent-config")
                        .asText())
                .hasSize(64);
    }

    @Test
    void besideAClientTheExampleForwardsALocalPortFromASecretIdentityAsANativeSidecar() {
        Manifests m = helm.render(example("sidecar-client.yaml"));
        String yaml = m.get("ConfigMap", FULLNAME + "-agent")
                .path("data")
                .path("agent.yaml")
                .asText();
        assertThat(yaml).contains("listen: 6379").contains("peer: redis-site").contains("service: redis");
        JsonNode pod = podSpec(m);
        JsonNode init = pod.path("initContainers");
        assertThat(init).hasSize(2);
        JsonNode copy = init.get(0);
        assertThat(copy.path("name").asText()).isEqualTo("burrow-identity");
        assertThat(texts(copy.path("command")).get(2))
                .contains("chmod 600")
                .contains("/etc/burrow/identity/node.key")
                .contains("/var/lib/burrow/node.crt");
        JsonNode burrow = init.get(1);
        assertThat(burrow.path("name").asText()).isEqualTo("burrow");
        assertThat(burrow.path("restartPolicy").asText()).isEqualTo("Always");
        assertThat(env(burrow, "BURROW_JOIN_TOKEN")).isNull();
        assertThat(pod.path("containers")).hasSize(1);
        assertThat(pod.path("containers").get(0).path("name").asText()).isEqualTo("reporter");
        JsonNode identity = null;
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals("burrow-identity")) {
                identity = v;
            }
        }
        assertThat(identity).isNotNull();
        assertThat(identity.path("secret").path("secretName").asText()).isEqualTo("reporter-burrow-identity");
    }

    @Test
    void proxyProtocolAndRelayTrustReachAgentYaml() {
        Manifests m = helm.render(values(
                "agent.relay.url",
                "https://relay.internal:8443",
                "agent.relay.fingerprint",
                "sha256:" + "ab".repeat(32),
                "agent.relay.ca.existingConfigMap",
                "relay-ca",
                "agent.expose",
                List.of(Map.of(
                        "name",
                        "web",
                        "target",
                        "127.0.0.1:8080",
                        "allow",
                        List.of("node:" + NODE_ID),
                        "proxy-protocol",
                        "v2")),
                "identity.mode",
                "generated",
                "workload.containers",
                List.of(Map.of("name", "nginx", "image", "nginx:1.27"))));
        AgentConfig c = agentConfig(m);
        assertThat(c.exposes().get(0).proxyProtocol()).isEqualTo(ProxyProtocol.V2);
        assertThat(c.relay().caFile()).isEqualTo(Path.of("/etc/burrow/relay-ca/ca.crt"));
        assertThat(c.relay().fingerprint()).startsWith("sha256:");
        JsonNode burrow = container(podSpec(m).path("containers"), "burrow");
        assertThat(env(burrow, "BURROW_JOIN_TOKEN")).isNull();
        assertThat(burrow.path("volumeMounts").toString()).contains("/etc/burrow/relay-ca");
    }

    @Test
    void aJoinTokenWithoutItsSecretIsAClearError() {
        assertThatThrownBy(() -> helm.render(values(
                        "agent.forward", List.of(Map.of("peer", NODE_ID, "service", "db", "listen", 5432)),
                        "workload.containers", List.of(Map.of("name", "app", "image", "app:1")))))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("identity.joinToken.existingSecret");
    }

    @Test
    void theSchemaRefusesAnUnknownIdentityModeAndAWrongProxyProtocol() {
        assertThatThrownBy(() -> helm.render(values("identity.mode", "borrowed")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("identity");
        assertThatThrownBy(() -> helm.render(values(
                        "agent.expose",
                        List.of(Map.of(
                                "name", "web", "target", "8080", "allow", List.of("tag:x"), "proxy-protocol", "v1")))))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("proxy-protocol");
        assertThatThrownBy(() -> helm.render(values("sidecar.colour", "blue")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("colour");
    }
}
