package dev.burrow.deploy;

import static dev.burrow.deploy.ChartRenderer.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.marcnuri.helm.LintResult;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The burrow-relay Helm chart: lint --strict, and helm template with several value sets, asserting on
 * the rendered objects. Nothing here needs a cluster or a network beyond loopback.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class BurrowRelayChartTest {
    private static final String FULLNAME = "burrow-relay";
    private static final String MESH_SERVICE = "burrow-relay-mesh";

    private Path work;
    private ChartRenderer helm;
    private Manifests defaults;

    @BeforeAll
    void renderDefaults() throws IOException {
        work = Files.createTempDirectory("burrow-chart-test");
        helm = new ChartRenderer(work);
        defaults = helm.render();
    }

    @AfterAll
    void close() throws IOException {
        helm.close();
        try (var files = Files.walk(work)) {
            files.sorted(java.util.Comparator.reverseOrder())
                    .forEach(p -> p.toFile().delete());
        }
    }

    // ---------- lint ----------

    @Test
    void lintStrictPasses() {
        LintResult result = ChartRenderer.lintStrict();
        assertThat(result.isFailed())
                .as(String.join("\n", result.getMessages()))
                .isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    // ---------- defaults ----------

    @Test
    void defaultsRenderTheRelayFleet() {
        assertThat(defaults.names())
                .containsExactlyInAnyOrder(
                        "ServiceAccount/" + FULLNAME,
                        "ConfigMap/" + FULLNAME + "-config",
                        "ConfigMap/" + FULLNAME + "-env",
                        "Secret/" + FULLNAME + "-mesh-key",
                        "Service/" + FULLNAME,
                        "Service/" + MESH_SERVICE,
                        "StatefulSet/" + FULLNAME,
                        "PodDisruptionBudget/" + FULLNAME);
        for (JsonNode o : defaults.objects()) {
            JsonNode labels = o.path("metadata").path("labels");
            assertThat(labels.path("app.kubernetes.io/name").asText())
                    .as(o.path("kind").asText())
                    .isEqualTo("burrow-relay");
            assertThat(labels.path("app.kubernetes.io/instance").asText()).isEqualTo(ChartRenderer.RELEASE);
            assertThat(labels.path("app.kubernetes.io/managed-by").asText()).isEqualTo("Helm");
            assertThat(o.path("metadata").path("namespace").asText()).isEqualTo(ChartRenderer.NAMESPACE);
        }
    }

    @Test
    void publicServiceMaps443ToThePodPortAndCarriesStunButNeverAdmin() {
        JsonNode svc = defaults.get("Service", FULLNAME);
        assertThat(svc.at("/spec/type").asText()).isEqualTo("LoadBalancer");
        assertThat(svc.at("/spec/externalTrafficPolicy").asText()).isEqualTo("Local");
        JsonNode relay = port(svc.at("/spec/ports"), "relay");
        assertThat(relay.path("port").asInt()).isEqualTo(443);
        assertThat(relay.path("protocol").asText()).isEqualTo("TCP");
        assertThat(relay.path("targetPort").asText()).isEqualTo("relay");
        JsonNode stun = port(svc.at("/spec/ports"), "stun");
        assertThat(stun.path("port").asInt()).isEqualTo(3478);
        assertThat(stun.path("protocol").asText()).isEqualTo("UDP");
        assertThat(stun.path("targetPort").asText()).isEqualTo("stun");
        assertThat(svc.at("/spec/ports").findValuesAsText("name")).containsExactly("relay", "stun");
        assertThat(svc.at("/spec/ports").findValues("port")).noneMatch(p -> p.asInt() == 9090);

        JsonNode container = defaults.relayContainer();
        assertThat(port(container.path("ports"), "relay").path("containerPort").asInt())
                .isEqualTo(8443);
        assertThat(port(container.path("ports"), "stun").path("containerPort").asInt())
                .isEqualTo(3478);
        assertThat(port(container.path("ports"), "stun").path("protocol").asText())
                .isEqualTo("UDP");
        assertThat(port(container.path("ports"), "admin").path("containerPort").asInt())
                .isEqualTo(9090);
        assertThat(svc.at("/spec/selector")).isEqualTo(defaults.statefulSet().at("/spec/selector/matchLabels"));
    }

    @Test
    void probesUseTheAdminPort() {
        JsonNode c = defaults.relayContainer();
        assertThat(c.at("/readinessProbe/httpGet/path").asText()).isEqualTo("/readyz");
        assertThat(c.at("/readinessProbe/httpGet/port").asText()).isEqualTo("admin");
        assertThat(c.at("/livenessProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(c.at("/livenessProbe/httpGet/port").asText()).isEqualTo("admin");
        assertThat(c.at("/startupProbe/httpGet/path").asText()).isEqualTo("/healthz");
        assertThat(port(c.path("ports"), "admin").path("containerPort").asInt()).isEqualTo(9090);
        assertThat(defaults.relayConfig().path("admin-listen").asText()).isEqualTo("0.0.0.0:9090");
    }

    @Test
    void securityContextIsRestrictive() {
        JsonNode pod = defaults.podSpec().path("securityContext");
        assertThat(pod.path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("runAsUser").asInt()).isEqualTo(65532);
        assertThat(pod.path("runAsGroup").asInt()).isEqualTo(65532);
        assertThat(pod.path("fsGroup").asInt()).isEqualTo(65532);
        assertThat(pod.at("/seccompProfile/type").asText()).isEqualTo("RuntimeDefault");
        JsonNode c = defaults.relayContainer().path("securityContext");
        assertThat(c.path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(c.path("allowPrivilegeEscalation").isBoolean()).isTrue();
        assertThat(c.path("allowPrivilegeEscalation").asBoolean()).isFalse();
        assertThat(c.path("readOnlyRootFilesystem").asBoolean()).isTrue();
        assertThat(c.path("privileged").asBoolean()).isFalse();
        assertThat(texts(c.at("/capabilities/drop"))).containsExactly("ALL");
        assertThat(c.at("/capabilities/add").isMissingNode())
                .as("no NET_BIND_SERVICE: the pod listens on 8443")
                .isTrue();
        assertThat(defaults.podSpec().path("automountServiceAccountToken").asBoolean())
                .isFalse();
    }

    @Test
    void jvmFlagsCommandAndWritableTmp() {
        JsonNode c = defaults.relayContainer();
        assertThat(texts(c.path("command")))
                .containsExactly(
                        "java",
                        "--enable-native-access=ALL-UNNAMED",
                        "-XX:MaxRAMPercentage=75",
                        "-XX:+ExitOnOutOfMemoryError",
                        "-jar",
                        "/opt/burrow/burrow.jar");
        assertThat(texts(c.path("args"))).containsExactly("relay", "--config", "/etc/burrow/config/relay.yaml");
        assertThat(mountPath(c, "config")).isEqualTo("/etc/burrow/config");
        assertThat(mountPath(c, "tmp")).isEqualTo("/tmp");
        assertThat(volume("tmp").has("emptyDir")).isTrue();
        assertThat(c.at("/envFrom/0/configMapRef/name").asText()).isEqualTo(FULLNAME + "-env");
        assertThat(defaults.relayEnv())
                .containsEntry("BURROW_TRANSPORT", "auto")
                .containsEntry("BURROW_LOG_FORMAT", "json")
                .containsEntry("BURROW_STATE", mountPath(c, "state"));
        assertThat(env(c, "BURROW_RELAY_ID").at("/valueFrom/fieldRef/fieldPath").asText())
                .isEqualTo("metadata.name");
        assertThat(c.path("resources").at("/limits/memory").asText()).isEqualTo("1Gi");
    }

    @Test
    void transportIsConfigurable() {
        Manifests m = helm.render(values("relay.transport", "epoll"));
        assertThat(m.relayEnv()).containsEntry("BURROW_TRANSPORT", "epoll");
    }

    @Test
    void statefulSetGivesStableNamesThroughTheHeadlessMeshService() {
        JsonNode sts = defaults.statefulSet();
        assertThat(sts.at("/spec/replicas").asInt()).isEqualTo(2);
        assertThat(sts.at("/spec/serviceName").asText()).isEqualTo(MESH_SERVICE);
        assertThat(sts.at("/spec/podManagementPolicy").asText()).isEqualTo("Parallel");
        assertThat(sts.at("/spec/volumeClaimTemplates").isMissingNode()).isTrue();

        JsonNode mesh = defaults.get("Service", MESH_SERVICE);
        assertThat(mesh.at("/spec/clusterIP").asText()).isEqualTo("None");
        assertThat(mesh.at("/spec/publishNotReadyAddresses").asBoolean()).isTrue();
        assertThat(mesh.at("/spec/selector")).isEqualTo(sts.at("/spec/selector/matchLabels"));

        Map<String, String> env = defaults.relayEnv();
        assertThat(env)
                .containsEntry("BURROW_MESH_PEERS", MESH_SERVICE + ".edge.svc.cluster.local")
                .containsEntry("BURROW_MESH_PORT", "8443")
                .containsEntry("BURROW_MESH_KEY_FILE", mountPath(defaults.relayContainer(), "mesh-key") + "/mesh.key");
        assertThat(port(mesh.at("/spec/ports"), "relay").path("port").asInt()).isEqualTo(8443);
    }

    @Test
    void relayConfigMatchesTheMounts() {
        JsonNode config = defaults.relayConfig();
        JsonNode c = defaults.relayContainer();
        assertThat(config.path("listen").asText()).isEqualTo("0.0.0.0:8443");
        assertThat(config.path("stun-listen").asText()).isEqualTo("0.0.0.0:3478");
        assertThat(config.at("/tls/mode").asText()).isEqualTo("files");
        assertThat(config.at("/tls/cert").asText()).isEqualTo(mountPath(c, "tls") + "/tls.crt");
        assertThat(config.at("/tls/key").asText()).isEqualTo(mountPath(c, "tls") + "/tls.key");
        assertThat(volume("tls").at("/secret/secretName").asText()).isEqualTo(FULLNAME + "-tls");
        assertThat(config.at("/auth/mode").asText()).isEqualTo("open");
        assertThat(defaults.relayEnv()).containsEntry("BURROW_DRAIN_GRACE", "25s");
        assertThat(volume("config").at("/configMap/name").asText()).isEqualTo(FULLNAME + "-config");
    }

    @Test
    void ipv6BindAddressIsBracketed() {
        JsonNode config = helm.render(values("relay.bindAddress", "::")).relayConfig();
        assertThat(config.path("listen").asText()).isEqualTo("[::]:8443");
        assertThat(config.path("admin-listen").asText()).isEqualTo("[::]:9090");
    }

    @Test
    void spreadsSoftlyOverZonesAndNodesByDefault() {
        JsonNode spread = defaults.podSpec().path("topologySpreadConstraints").get(0);
        assertThat(spread.path("topologyKey").asText()).isEqualTo("topology.kubernetes.io/zone");
        assertThat(spread.path("whenUnsatisfiable").asText()).isEqualTo("ScheduleAnyway");
        JsonNode anti = defaults.podSpec().at("/affinity/podAntiAffinity");
        assertThat(anti.has("preferredDuringSchedulingIgnoredDuringExecution")).isTrue();
        assertThat(anti.has("requiredDuringSchedulingIgnoredDuringExecution")).isFalse();

        Manifests hard = helm.render(values("spread.zones", "hard", "spread.nodes", "none"));
        assertThat(hard.podSpec()
                        .at("/topologySpreadConstraints/0/whenUnsatisfiable")
                        .asText())
                .isEqualTo("DoNotSchedule");
        assertThat(hard.podSpec().has("affinity")).isFalse();
    }

    // ---------- mesh key ----------

    @Test
    void generatedMeshKeyIs64LowercaseHex() {
        String key = meshKey(defaults);
        assertThat(key).matches("[0-9a-f]{64}");
        assertThat(meshKey(helm.render())).as("a fresh key when none exists").isNotEqualTo(key);
        JsonNode vol = volume("mesh-key");
        assertThat(vol.at("/secret/secretName").asText()).isEqualTo(FULLNAME + "-mesh-key");
        assertThat(mountPath(defaults.relayContainer(), "mesh-key")).isEqualTo("/etc/burrow/mesh");
    }

    @Test
    void existingMeshKeyIsKeptOnUpgrade() {
        String existing = "0123456789abcdef".repeat(4);
        helm.api()
                .putSecret(
                        ChartRenderer.NAMESPACE,
                        FULLNAME + "-mesh-key",
                        Map.of(
                                "mesh.key",
                                Base64.getEncoder().encodeToString(existing.getBytes(StandardCharsets.US_ASCII))));
        try {
            assertThat(meshKey(helm.render())).isEqualTo(existing);
        } finally {
            helm.api().clearSecrets();
        }
        assertThat(helm.api().requests()).contains("GET /api/v1/namespaces/edge/secrets/" + FULLNAME + "-mesh-key");
    }

    @Test
    void existingSecretsAreUsedAndNothingIsGenerated() {
        Manifests m = helm.render(values(
                "tls.existingSecret", "relay-cert", "mesh.existingSecret", "fleet-mesh", "mesh.secretKey", "key.hex"));
        assertThat(m.ofKind("Secret")).isEmpty();
        assertThat(m.ofKind("Certificate")).isEmpty();
        assertThat(volume(m, "tls").at("/secret/secretName").asText()).isEqualTo("relay-cert");
        assertThat(volume(m, "mesh-key").at("/secret/secretName").asText()).isEqualTo("fleet-mesh");
        assertThat(m.relayEnv()).containsEntry("BURROW_MESH_KEY_FILE", "/etc/burrow/mesh/key.hex");
    }

    @Test
    void meshCanBeTurnedOff() {
        Manifests m = helm.render(values("mesh.enabled", false));
        assertThat(m.ofKind("Secret")).isEmpty();
        assertThat(m.relayEnv()).doesNotContainKeys("BURROW_MESH_PEERS", "BURROW_MESH_KEY_FILE");
        assertThat(m.find("Service", MESH_SERVICE))
                .as("still the StatefulSet's governing Service")
                .isPresent();
    }

    // ---------- public ingress ----------

    @Test
    void publicIngressIsOffByDefault() {
        assertThat(defaults.relayConfig().has("ingress")).isFalse();
        assertThat(defaults.ofKind("Service"))
                .noneMatch(s -> s.at("/metadata/name").asText().contains("ingress"));
        assertThat(defaults.relayContainer().path("env").findValuesAsText("name"))
                .doesNotContain("BURROW_INGRESS_PUBLIC_HOST");
    }

    @Test
    void publicIngressRendersIntoRelayYamlAndOneServicePerPod() {
        Manifests m = helm.render(values(
                "replicaCount",
                3,
                "ingress.enabled",
                true,
                "ingress.portRange",
                "20000-20004",
                "ingress.staticPorts",
                List.of("nodeid/hook=20002", "nodeid/demo=21000"),
                "ingress.allowNodes",
                List.of("nodeid"),
                "ingress.settings",
                Map.of("max-connections", 512),
                "ingress.publicHost",
                "relays.example.net",
                "ingress.service.enabled",
                true,
                "ingress.service.loadBalancerSourceRanges",
                List.of("192.0.2.0/24")));
        JsonNode in = m.relayConfig().path("ingress");
        assertThat(in.path("enabled").asBoolean()).isTrue();
        assertThat(in.path("bind-address").asText()).isEqualTo("0.0.0.0");
        assertThat(in.path("port-range").asText()).isEqualTo("20000-20004");
        assertThat(texts(in.path("static-ports"))).containsExactly("nodeid/hook=20002", "nodeid/demo=21000");
        assertThat(texts(in.path("allow-nodes"))).containsExactly("nodeid");
        assertThat(in.path("max-connections").asInt()).isEqualTo(512);
        assertThat(in.path("public-host").asText()).isEqualTo("relays.example.net");
        for (int i = 0; i < 3; i++) {
            JsonNode svc = m.get("Service", FULLNAME + "-ingress-" + i);
            assertThat(svc.at("/spec/type").asText()).isEqualTo("LoadBalancer");
            assertThat(svc.at("/spec/externalTrafficPolicy").asText()).isEqualTo("Local");
            assertThat(texts(svc.at("/spec/loadBalancerSourceRanges"))).containsExactly("192.0.2.0/24");
            assertThat(svc.at("/spec/selector/statefulset.kubernetes.io~1pod-name")
                            .asText())
                    .isEqualTo(FULLNAME + "-" + i);
            assertThat(svc.at("/spec/ports").findValues("port"))
                    .extracting(JsonNode::asInt)
                    .containsExactly(20000, 20001, 20002, 20003, 20004, 21000);
            assertThat(svc.at("/spec/ports").findValuesAsText("protocol")).containsOnly("TCP");
            assertThat(svc.at("/metadata/labels/burrow.dev~1service").asText()).isEqualTo("ingress");
        }
        assertThat(m.find("Service", FULLNAME + "-ingress-3")).isEmpty();
        assertThat(port(m.get("Service", FULLNAME).at("/spec/ports"), "relay")
                        .path("port")
                        .asInt())
                .as("the public Service is unchanged")
                .isEqualTo(443);
    }

    @Test
    void perPodPublicHostIsExpandedByKubernetes() {
        Manifests m = helm.render(values(
                "ingress.enabled",
                true,
                "ingress.portRange",
                "20000-20009",
                "ingress.publicHost",
                "$(BURROW_RELAY_ID).relays.example.net"));
        assertThat(m.relayConfig().path("ingress").has("public-host")).isFalse();
        List<String> names = m.relayContainer().path("env").findValuesAsText("name");
        assertThat(names.indexOf("BURROW_INGRESS_PUBLIC_HOST"))
                .as("after the variable it names")
                .isGreaterThan(names.indexOf("BURROW_RELAY_ID"));
        assertThat(env(m.relayContainer(), "BURROW_INGRESS_PUBLIC_HOST")
                        .path("value")
                        .asText())
                .isEqualTo("$(BURROW_RELAY_ID).relays.example.net");
    }

    @Test
    void publicIngressMisconfigurationsAreRefused() {
        assertThatThrownBy(() -> helm.render(values("ingress.enabled", true)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("ingress.portRange");
        assertThatThrownBy(() -> helm.render(values(
                        "ingress.enabled", true, "ingress.portRange", "20000-20200", "ingress.service.enabled", true)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("at most 100");
        assertThatThrownBy(() -> helm.render(values(
                        "ingress.enabled",
                        true,
                        "ingress.portRange",
                        "20000-20009",
                        "ingress.service.enabled",
                        true,
                        "autoscaling.enabled",
                        true)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("autoscaling");
        assertThatThrownBy(() -> helm.render(values("ingress.portRange", "20000")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("/ingress/portRange");
        assertThatThrownBy(() -> helm.render(values("ingress.settings", Map.of("max-conections", 5))))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("max-conections");
    }

    // ---------- PDB, HPA ----------

    @Test
    void oneReplicaHasNoDisruptionBudget() {
        Manifests m = helm.render(values("replicaCount", 1));
        assertThat(m.ofKind("PodDisruptionBudget")).isEmpty();
        assertThat(m.statefulSet().at("/spec/replicas").asInt()).isEqualTo(1);
    }

    @Test
    void threeReplicasHaveADisruptionBudget() {
        Manifests m = helm.render(values("replicaCount", 3));
        JsonNode pdb = m.get("PodDisruptionBudget", FULLNAME);
        assertThat(pdb.path("apiVersion").asText()).isEqualTo("policy/v1");
        assertThat(pdb.at("/spec/maxUnavailable").asInt()).isEqualTo(1);
        assertThat(pdb.at("/spec/minAvailable").isMissingNode()).isTrue();
        assertThat(pdb.at("/spec/selector/matchLabels"))
                .isEqualTo(m.statefulSet().at("/spec/selector/matchLabels"));
    }

    @Test
    void disruptionBudgetCanUseMinAvailableButNotBoth() {
        Map<String, Object> v = values(
                "replicaCount", 3, "podDisruptionBudget.minAvailable", 2, "podDisruptionBudget.maxUnavailable", null);
        JsonNode pdb = helm.render(v).get("PodDisruptionBudget", FULLNAME);
        assertThat(pdb.at("/spec/minAvailable").asInt()).isEqualTo(2);
        assertThat(pdb.at("/spec/maxUnavailable").isMissingNode()).isTrue();

        assertThatThrownBy(() -> helm.render(values("replicaCount", 3, "podDisruptionBudget.minAvailable", 2)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("not both");
    }

    @Test
    void autoscalingTargetsTheStatefulSetAndOwnsReplicas() {
        Manifests m = helm.render(
                values("autoscaling.enabled", true, "autoscaling.minReplicas", 3, "autoscaling.maxReplicas", 12));
        JsonNode hpa = m.get("HorizontalPodAutoscaler", FULLNAME);
        assertThat(hpa.path("apiVersion").asText()).isEqualTo("autoscaling/v2");
        assertThat(hpa.at("/spec/scaleTargetRef/kind").asText()).isEqualTo("StatefulSet");
        assertThat(hpa.at("/spec/scaleTargetRef/name").asText()).isEqualTo(FULLNAME);
        assertThat(hpa.at("/spec/minReplicas").asInt()).isEqualTo(3);
        assertThat(hpa.at("/spec/maxReplicas").asInt()).isEqualTo(12);
        assertThat(hpa.at("/spec/metrics/0/resource/name").asText()).isEqualTo("cpu");
        assertThat(hpa.at("/spec/behavior/scaleDown/stabilizationWindowSeconds").asInt())
                .isEqualTo(600);
        assertThat(m.statefulSet().at("/spec/replicas").isMissingNode())
                .as("the HPA owns replicas")
                .isTrue();
        assertThat(m.find("PodDisruptionBudget", FULLNAME)).isPresent();

        Manifests single = helm.render(values("autoscaling.enabled", true, "autoscaling.minReplicas", 1));
        assertThat(single.ofKind("PodDisruptionBudget")).isEmpty();
        assertThat(defaults.ofKind("HorizontalPodAutoscaler")).isEmpty();
    }

    // ---------- ServiceMonitor ----------

    @Test
    void serviceMonitorScrapesAdminThroughTheHeadlessServiceOnly() {
        Manifests m = helm.render(values(
                "metrics.serviceMonitor.enabled",
                true,
                "metrics.serviceMonitor.labels",
                Map.of("release", "kube-prometheus")));
        JsonNode sm = m.get("ServiceMonitor", FULLNAME);
        assertThat(sm.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(sm.at("/metadata/labels/release").asText()).isEqualTo("kube-prometheus");
        assertThat(sm.at("/spec/endpoints/0/port").asText()).isEqualTo("admin");
        assertThat(sm.at("/spec/endpoints/0/path").asText()).isEqualTo("/metrics");
        List<String> selected = new ArrayList<>();
        for (JsonNode svc : m.ofKind("Service")) {
            if (selects(sm.at("/spec/selector/matchLabels"), svc.at("/metadata/labels"))) {
                selected.add(svc.at("/metadata/name").asText());
                assertThat(port(svc.at("/spec/ports"), "admin").path("port").asInt())
                        .isEqualTo(9090);
            }
        }
        assertThat(selected).containsExactly(MESH_SERVICE);
        assertThat(defaults.ofKind("ServiceMonitor")).isEmpty();
    }

    // ---------- TLS ----------

    @Test
    void certManagerCertificateFeedsTheMountedSecret() {
        Manifests m = helm.render(values(
                "tls.certManager.enabled",
                true,
                "tls.certManager.dnsNames",
                List.of("relay.example.net"),
                "tls.certManager.issuerRef.name",
                "letsencrypt"));
        JsonNode cert = m.get("Certificate", FULLNAME);
        assertThat(cert.path("apiVersion").asText()).isEqualTo("cert-manager.io/v1");
        assertThat(cert.at("/spec/secretName").asText()).isEqualTo(FULLNAME + "-tls");
        assertThat(texts(cert.at("/spec/dnsNames"))).containsExactly("relay.example.net");
        assertThat(cert.at("/spec/issuerRef/name").asText()).isEqualTo("letsencrypt");
        assertThat(cert.at("/spec/issuerRef/kind").asText()).isEqualTo("ClusterIssuer");
        assertThat(texts(cert.at("/spec/usages"))).contains("server auth");
        assertThat(volume(m, "tls").at("/secret/secretName").asText()).isEqualTo(FULLNAME + "-tls");

        assertThatThrownBy(() -> helm.render(
                        values("tls.certManager.enabled", true, "tls.certManager.issuerRef.name", "letsencrypt")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("dnsNames");
    }

    @Test
    void devTlsNeedsNoSecret() {
        Manifests m = helm.render(values("tls.mode", "dev", "tls.dev.hostNames", List.of("relay.test")));
        assertThat(m.relayConfig().at("/tls/mode").asText()).isEqualTo("dev");
        assertThat(texts(m.relayConfig().at("/tls/dev-hosts"))).containsExactly("relay.test");
        assertThat(m.relayConfig().at("/tls/dev-dir").asText()).startsWith("/var/lib/burrow/");
        assertThat(m.podSpec().path("volumes").findValuesAsText("name")).doesNotContain("tls");
    }

    // ---------- admission ----------

    @Test
    void caAdmissionMountsTheFleetCa() {
        Manifests m = helm.render(values(
                "auth.mode", "ca", "auth.ca.existingSecret", "fleet-ca", "auth.requiredTags", List.of("relay-ok")));
        JsonNode auth = m.relayConfig().path("auth");
        assertThat(auth.path("mode").asText()).isEqualTo("ca");
        assertThat(texts(auth.path("ca"))).containsExactly("/etc/burrow/ca/ca.crt");
        assertThat(texts(auth.path("required-tags"))).containsExactly("relay-ok");
        assertThat(volume(m, "ca").at("/secret/secretName").asText()).isEqualTo("fleet-ca");
        assertThat(mountPath(m.relayContainer(), "ca")).isEqualTo("/etc/burrow/ca");

        assertThatThrownBy(() -> helm.render(values("auth.mode", "ca")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("auth.ca");
    }

    @Test
    void allowListAndWebhookAdmission() {
        JsonNode allow = helm.render(values(
                        "auth.mode",
                        "allow-list",
                        "auth.allowList",
                        List.of("node-a", "node-b"),
                        "auth.allowListConfigMap.name",
                        "fleet-allow"))
                .relayConfig()
                .path("auth");
        assertThat(allow.path("mode").asText()).isEqualTo("allow-list");
        assertThat(texts(allow.path("allow"))).containsExactly("node-a", "node-b");
        assertThat(allow.path("allow-file").asText()).isEqualTo("/etc/burrow/allow/allow.txt");

        JsonNode hook = helm.render(values("auth.mode", "webhook", "auth.webhook.url", "https://admit.example.net/v1"))
                .relayConfig()
                .path("auth");
        assertThat(hook.path("webhook-url").asText()).isEqualTo("https://admit.example.net/v1");
        assertThat(hook.path("webhook-timeout").asText()).isEqualTo("5s");
        assertThat(hook.path("webhook-fail-open").asBoolean()).isFalse();

        assertThatThrownBy(() -> helm.render(values("auth.mode", "webhook")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("auth.webhook.url");
        assertThatThrownBy(() -> helm.render(values("auth.mode", "allow-list")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("auth.allowList");
    }

    // ---------- Service types ----------

    @Test
    void nodePortService() {
        Manifests m = helm.render(
                values("service.type", "NodePort", "service.nodePorts.relay", 30443, "service.nodePorts.stun", 30478));
        JsonNode svc = m.get("Service", FULLNAME);
        assertThat(svc.at("/spec/type").asText()).isEqualTo("NodePort");
        assertThat(svc.at("/spec/externalTrafficPolicy").asText()).isEqualTo("Local");
        assertThat(port(svc.at("/spec/ports"), "relay").path("nodePort").asInt())
                .isEqualTo(30443);
        assertThat(port(svc.at("/spec/ports"), "stun").path("nodePort").asInt()).isEqualTo(30478);
    }

    @Test
    void clusterIpServiceHasNoExternalSettings() {
        JsonNode svc = helm.render(values("service.type", "ClusterIP", "service.nodePorts.relay", 30443))
                .get("Service", FULLNAME);
        assertThat(svc.at("/spec/type").asText()).isEqualTo("ClusterIP");
        assertThat(svc.at("/spec/externalTrafficPolicy").isMissingNode()).isTrue();
        assertThat(port(svc.at("/spec/ports"), "relay").has("nodePort")).isFalse();
        assertThat(port(svc.at("/spec/ports"), "relay").path("port").asInt()).isEqualTo(443);
    }

    @Test
    void stunCanGoToItsOwnServiceForLoadBalancersThatCannotMixProtocols() {
        Manifests m = helm.render(values("service.splitStun", true));
        JsonNode tcp = m.get("Service", FULLNAME);
        JsonNode udp = m.get("Service", FULLNAME + "-stun");
        assertThat(tcp.at("/spec/ports").findValuesAsText("protocol")).containsExactly("TCP");
        assertThat(udp.at("/spec/ports").findValuesAsText("protocol")).containsExactly("UDP");
        assertThat(udp.at("/spec/type").asText()).isEqualTo("LoadBalancer");
        assertThat(port(udp.at("/spec/ports"), "stun").path("port").asInt()).isEqualTo(3478);

        Manifests noStun = helm.render(values("relay.stun.enabled", false));
        assertThat(noStun.get("Service", FULLNAME).at("/spec/ports").findValuesAsText("name"))
                .containsExactly("relay");
        assertThat(noStun.relayConfig().path("stun-listen").asText()).isEqualTo("off");
    }

    // ---------- rollout ----------

    @Test
    void checksumAnnotationFollowsTheConfig() {
        String base = defaults.checksumConfig();
        assertThat(base).matches("[0-9a-f]{64}");
        assertThat(helm.render().checksumConfig())
                .as("same values, same checksum (the random mesh key is not in it)")
                .isEqualTo(base);
        assertThat(helm.render(values("auth.mode", "allow-list", "auth.allowList", List.of("n1")))
                        .checksumConfig())
                .isNotEqualTo(base);
        assertThat(helm.render(values("relay.limits", Map.of("max-clients", 5000)))
                        .checksumConfig())
                .isNotEqualTo(base);
        assertThat(helm.render(values("relay.transport", "nio")).checksumConfig())
                .as("env settings count too")
                .isNotEqualTo(base);
    }

    @Test
    void terminationGraceIsDrainPlusMargin() {
        assertThat(defaults.podSpec().path("terminationGracePeriodSeconds").asInt())
                .isEqualTo(25 + 10);
        assertThat(defaults.relayContainer().has("lifecycle"))
                .as("no preStop hook unless asked")
                .isFalse();

        Manifests m = helm.render(values("relay.drainGraceSeconds", 120, "relay.terminationMarginSeconds", 15));
        assertThat(m.podSpec().path("terminationGracePeriodSeconds").asInt()).isEqualTo(135);
        assertThat(m.relayEnv()).containsEntry("BURROW_DRAIN_GRACE", "120s");

        Manifests sleep = helm.render(values("relay.preStopSleepSeconds", 5));
        assertThat(sleep.podSpec().path("terminationGracePeriodSeconds").asInt())
                .isEqualTo(5 + 25 + 10);
        assertThat(sleep.relayContainer().at("/lifecycle/preStop/sleep/seconds").asInt())
                .isEqualTo(5);
    }

    // ---------- seccomp ----------

    @Test
    void localhostSeccompProfileAllowsIoUring() throws IOException {
        Manifests m = helm.render(values("seccompProfile.type", "Localhost"));
        JsonNode profile = m.podSpec().at("/securityContext/seccompProfile");
        assertThat(profile.path("type").asText()).isEqualTo("Localhost");
        assertThat(profile.path("localhostProfile").asText()).isEqualTo("burrow/seccomp-iouring.json");

        JsonNode json = new ObjectMapper()
                .readTree(ChartRenderer.chartDir()
                        .resolve("files/seccomp-iouring.json")
                        .toFile());
        Map<String, String> actionBySyscall = new HashMap<>();
        for (JsonNode rule : json.path("syscalls")) {
            for (JsonNode name : rule.path("names")) {
                actionBySyscall.put(name.asText(), rule.path("action").asText());
            }
        }
        assertThat(json.path("defaultAction").asText()).isEqualTo("SCMP_ACT_ALLOW");
        assertThat(actionBySyscall).doesNotContainKeys("io_uring_setup", "io_uring_enter", "io_uring_register");
        assertThat(actionBySyscall)
                .containsEntry("bpf", "SCMP_ACT_ERRNO")
                .containsEntry("ptrace", "SCMP_ACT_ERRNO")
                .containsEntry("unshare", "SCMP_ACT_ERRNO")
                .containsEntry("keyctl", "SCMP_ACT_ERRNO");
    }

    // ---------- schema ----------

    @Test
    void schemaRejectsUnsafeOrMistypedValues() {
        assertThatThrownBy(() -> helm.render(values("service.type", "External")))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("/service/type");
        assertThatThrownBy(() -> helm.render(values("relay.port", 443)))
                .as("a privileged pod port would need NET_BIND_SERVICE")
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("/relay/port");
        assertThatThrownBy(() -> helm.render(values("podSecurityContext.runAsNonRoot", false)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("/podSecurityContext/runAsNonRoot");
        assertThatThrownBy(() -> helm.render(values("replicaCont", 3)))
                .isInstanceOf(ChartRenderer.RenderException.class)
                .hasMessageContaining("replicaCont");
    }

    // ---------- helpers ----------

    private static String meshKey(Manifests m) {
        JsonNode secret = m.get("Secret", FULLNAME + "-mesh-key");
        return new String(Base64.getDecoder().decode(secret.at("/data/mesh.key").asText()), StandardCharsets.US_ASCII);
    }

    private static JsonNode port(JsonNode ports, String name) {
        for (JsonNode p : ports) {
            if (name.equals(p.path("name").asText())) {
                return p;
            }
        }
        throw new AssertionError("no port " + name + " in " + ports);
    }

    private static JsonNode env(JsonNode container, String name) {
        for (JsonNode e : container.path("env")) {
            if (name.equals(e.path("name").asText())) {
                return e;
            }
        }
        throw new AssertionError("no env " + name);
    }

    private static String mountPath(JsonNode container, String volume) {
        for (JsonNode vm : container.path("volumeMounts")) {
            if (volume.equals(vm.path("name").asText())) {
                return vm.path("mountPath").asText();
            }
        }
        throw new AssertionError("no mount of " + volume);
    }

    private JsonNode volume(String name) {
        return volume(defaults, name);
    }

    private static JsonNode volume(Manifests m, String name) {
        for (JsonNode v : m.podSpec().path("volumes")) {
            if (name.equals(v.path("name").asText())) {
                return v;
            }
        }
        throw new AssertionError("no volume " + name);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static boolean selects(JsonNode selector, JsonNode labels) {
        var it = selector.fields();
        while (it.hasNext()) {
            var e = it.next();
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
                return false;
            }
        }
        return true;
    }
}
