package dev.burrow.deploy;

import static dev.burrow.deploy.ChartRenderer.values;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The chart's Grafana dashboard and PrometheusRule alerts: rendered with both enabled, checked as
 * objects, the rules checked by {@code promtool check rules}, and every metric either one names
 * checked against what a real relay exports (the scrape of an in-process relay, and the table in
 * docs/operations.md, which relay-server's RelayMetricsSeriesTest ties to the same scrape).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RelayMonitoringTest {
    private static final String FULLNAME = "burrow-relay";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ObjectMapper YAML = new YAMLMapper();
    /** Series the relay does not export but the alerts rightly use: Prometheus's own and kube-state-metrics'. */
    private static final Set<String> NOT_OURS =
            Set.of("up", "kube_statefulset_status_replicas", "kube_statefulset_status_replicas_ready");
    /** The conditions docs/operations.md lists under "Alert on:", by the alert that covers each. */
    private static final Map<String, List<String>> CONDITIONS = Map.ofEntries(
            Map.entry("Relay down", List.of("BurrowRelayDown", "BurrowRelayReplicasMissing")),
            Map.entry("Near capacity", List.of("BurrowRelayNearCapacity", "BurrowRelayServerFull")),
            Map.entry("Admission failing", List.of("BurrowRelayAdmissionFailing", "BurrowRelayAdmissionInternalError")),
            Map.entry("Slow receivers / overload", List.of("BurrowRelaySlowReceivers")),
            Map.entry("Abuse", List.of("BurrowRelayConnectAbuse", "BurrowRelayProtocolViolations")),
            Map.entry("Circuits failing", List.of("BurrowRelayCircuitsFailing")),
            Map.entry("Mesh partition", List.of("BurrowRelayMeshPartition", "BurrowRelayMeshAuthFailed")),
            Map.entry("Mesh overload", List.of("BurrowRelayMeshOverload")),
            Map.entry("Stuck drain", List.of("BurrowRelayDrainStuck")),
            Map.entry("Public ingress", List.of("BurrowRelayIngressRefusals", "BurrowRelayIngressListenersSlow")),
            Map.entry("Transport", List.of("BurrowRelayTransportNio")));

    private static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\{([^{}]*)}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)\\s*\"([^\"]*)\"");

    private Path work;
    private ChartRenderer helm;
    private Manifests all;
    private String scrape;

    @BeforeAll
    void render() throws Exception {
        work = Files.createTempDirectory("burrow-chart-monitoring");
        helm = new ChartRenderer(work);
        all = helm.render(values(
                "metrics.grafanaDashboard.enabled",
                true,
                "metrics.grafanaDashboard.annotations",
                Map.of("grafana_folder", "Burrow"),
                "metrics.prometheusRule.enabled",
                true,
                "metrics.prometheusRule.labels",
                Map.of("release", "kube-prometheus"),
                "metrics.prometheusRule.ruleLabels",
                Map.of("team", "network", "severity", "ignored"),
                "relay.limits",
                Map.of("max-clients", 50000),
                "ingress.enabled",
                true,
                "ingress.portRange",
                "20000-20009"));
        scrape = freshRelayScrape();
    }

    @AfterAll
    void close() throws IOException {
        helm.close();
        try (var files = Files.walk(work)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** The scrape of a fresh in-process relay (loopback, port 0), after one GC so the GC timers exist. */
    private static String freshRelayScrape() throws Exception {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("listen", "127.0.0.1:0");
        settings.put("admin-listen", "127.0.0.1:0");
        settings.put("tls.mode", "dev");
        settings.put("auth.mode", "open");
        settings.put("relay-id", "monitoring-test");
        settings.put("transport", "nio");
        try (RelayServer relay = RelayServer.builder(RelayConfigLoader.fromMap(settings))
                .transport(Transport.nio())
                .build()
                .start()) {
            System.gc();
            await().atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> {
                        System.gc();
                        return relay.prometheus().scrape().contains("jvm_gc_pause_seconds_count");
                    });
            return relay.prometheus().scrape();
        }
    }

    // ---------- objects ----------

    @Test
    void neitherIsRenderedByDefault() {
        Manifests defaults = helm.render();
        assertThat(defaults.ofKind("PrometheusRule")).isEmpty();
        assertThat(defaults.ofKind("ConfigMap"))
                .noneMatch(c -> c.at("/metadata/name").asText().endsWith("-dashboard"));
    }

    @Test
    void dashboardConfigMapIsForTheGrafanaSidecar() throws IOException {
        JsonNode cm = all.get("ConfigMap", FULLNAME + "-dashboard");
        assertThat(cm.at("/metadata/labels/grafana_dashboard").asText()).isEqualTo("1");
        assertThat(cm.at("/metadata/annotations/grafana_folder").asText()).isEqualTo("Burrow");
        assertThat(cm.at("/metadata/namespace").asText()).isEqualTo(ChartRenderer.NAMESPACE);
        JsonNode dash = dashboard();
        assertThat(dash.path("uid").asText()).isEqualTo("burrow-relays");
        Map<String, JsonNode> vars = new LinkedHashMap<>();
        dash.at("/templating/list").forEach(v -> vars.put(v.path("name").asText(), v));
        assertThat(vars).containsKeys("datasource", "job", "instance");
        assertThat(vars.get("datasource").path("type").asText()).isEqualTo("datasource");
        assertThat(vars.get("datasource").path("query").asText()).isEqualTo("prometheus");
        List<String> titles = new ArrayList<>();
        for (JsonNode panel : dash.path("panels")) {
            titles.add(panel.path("title").asText());
            if (!"row".equals(panel.path("type").asText())) {
                assertThat(panel.at("/datasource/uid").asText())
                        .as(panel.path("title").asText())
                        .isEqualTo("${datasource}");
                assertThat(panel.path("targets"))
                        .as(panel.path("title").asText())
                        .isNotEmpty();
                for (JsonNode t : panel.path("targets")) {
                    assertThat(t.path("expr").asText())
                            .as(panel.path("title").asText())
                            .contains("job=~\"$job\"", "instance=~\"$instance\"");
                }
            }
        }
        assertThat(titles)
                .contains(
                        "Clients",
                        "Handshakes by outcome",
                        "Handshake latency",
                        "Circuits active and pending",
                        "Circuit events",
                        "Circuit setup latency",
                        "Bytes through circuits",
                        "Datagrams forwarded",
                        "Drops by reason",
                        "Rate-limit events",
                        "Protocol violations",
                        "Mesh links",
                        "Mesh routes and names",
                        "Mesh events",
                        "Draining",
                        "Public ingress by outcome",
                        "Relays: transport and version",
                        "Heap used and max",
                        "GC pause time",
                        "CPU");
        assertThat(expressions(dash))
                .anyMatch(e -> e.contains("histogram_quantile(0.99")
                        && e.contains("burrow_relay_circuit_setup_seconds_bucket"));
        assertThat(expressions(dash))
                .anyMatch(e -> e.contains("histogram_quantile(0.5")
                        && e.contains("burrow_relay_circuit_setup_seconds_bucket"));
    }

    @Test
    void prometheusRuleCoversEveryDocumentedCondition() throws IOException {
        JsonNode rule = all.get("PrometheusRule", FULLNAME);
        assertThat(rule.path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
        assertThat(rule.at("/metadata/labels/release").asText()).isEqualTo("kube-prometheus");
        assertThat(all.text()).doesNotContain("@SEL@", "@NS@", "@STS@", "@CAPACITY@", "@DRAIN_FOR@");
        Map<String, JsonNode> alerts = alerts(rule);
        assertThat(alerts.keySet())
                .containsExactlyInAnyOrderElementsOf(
                        CONDITIONS.values().stream().flatMap(List::stream).toList());
        String doc = operationsDoc();
        String alertOn = doc.substring(doc.indexOf("Alert on:"), doc.indexOf("## io_uring"));
        assertThat(CONDITIONS.keySet()).allSatisfy(c -> assertThat(alertOn).contains("**" + c));
        for (var e : alerts.entrySet()) {
            JsonNode a = e.getValue();
            assertThat(a.path("for").asText()).as(e.getKey()).matches("\\d+[sm]");
            assertThat(a.at("/labels/severity").asText()).as(e.getKey()).isIn("critical", "warning", "info");
            assertThat(a.at("/labels/team").asText())
                    .as("ruleLabels reach every alert")
                    .isEqualTo("network");
            assertThat(a.at("/annotations/summary").asText()).as(e.getKey()).isNotBlank();
            assertThat(a.at("/annotations/description").asText()).as(e.getKey()).isNotBlank();
            String expr = a.path("expr").asText();
            if (!expr.contains("kube_statefulset")) {
                assertThat(expr)
                        .as(e.getKey() + " selects this release's series")
                        .contains("namespace=\"edge\",job=\"burrow-relay-mesh\"");
            }
        }
        assertThat(alerts.get("BurrowRelayNearCapacity").path("expr").asText()).endsWith("> 40000");
        assertThat(alerts.get("BurrowRelayDrainStuck").path("for").asText()).isEqualTo("85s");
        assertThat(alerts.get("BurrowRelayDown").at("/labels/severity").asText())
                .isEqualTo("critical");
        assertThat(alerts.get("BurrowRelayReplicasMissing").path("expr").asText())
                .contains("namespace=\"edge\",statefulset=\"burrow-relay\"");
    }

    @Test
    void meshIngressAndTransportAlertsFollowTheValues() {
        Manifests m = helm.render(values(
                "metrics.prometheusRule.enabled",
                true,
                "mesh.enabled",
                false,
                "relay.transport",
                "nio",
                "metrics.prometheusRule.selector",
                "job=\"relays\""));
        Map<String, JsonNode> alerts = alerts(m.get("PrometheusRule", FULLNAME));
        assertThat(alerts)
                .doesNotContainKeys(
                        "BurrowRelayMeshPartition", "BurrowRelayIngressRefusals", "BurrowRelayTransportNio");
        assertThat(alerts).containsKeys("BurrowRelayDown", "BurrowRelayDrainStuck");
        assertThat(alerts.get("BurrowRelayDown").path("expr").asText()).isEqualTo("up{job=\"relays\"} == 0");
    }

    // ---------- promtool ----------

    @Test
    void promtoolAcceptsTheRules() throws Exception {
        Path promtool = tool("promtool", "Debian package prometheus");
        Path rules = work.resolve("rules.yaml");
        YAML.writeValue(rules.toFile(), all.get("PrometheusRule", FULLNAME).path("spec"));
        Process p = new ProcessBuilder(promtool.toString(), "check", "rules", rules.toString())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out)
                .contains("SUCCESS: "
                        + alerts(all.get("PrometheusRule", FULLNAME)).size() + " rules found");
    }

    /**
     * The alerts' semantics, not only their syntax: {@code promtool test rules} feeds synthetic series
     * to the rendered rules (annotations left out, so only labels are compared) and checks which
     * alerts fire when, and that healthy series fire nothing.
     */
    @Test
    void promtoolUnitTestsFireTheAlertsOnTheirConditionsOnly() throws Exception {
        Path promtool = tool("promtool", "Debian package prometheus");
        JsonNode spec = all.get("PrometheusRule", FULLNAME).path("spec").deepCopy();
        for (JsonNode group : spec.path("groups")) {
            for (JsonNode r : group.path("rules")) {
                ((com.fasterxml.jackson.databind.node.ObjectNode) r).remove("annotations");
            }
        }
        YAML.writeValue(work.resolve("unit-rules.yaml").toFile(), spec);
        String a = "namespace=\"edge\",job=\"burrow-relay-mesh\",instance=\"10.0.0.1:9090\",pod=\"burrow-relay-0\"";
        String b = "namespace=\"edge\",job=\"burrow-relay-mesh\",instance=\"10.0.0.2:9090\",pod=\"burrow-relay-1\"";
        String c = "namespace=\"edge\",job=\"burrow-relay-mesh\",instance=\"10.0.0.3:9090\",pod=\"burrow-relay-2\"";
        String labelsA =
                "{namespace: edge, job: burrow-relay-mesh, instance: \"10.0.0.1:9090\", pod: burrow-relay-0, team: network";
        String sumA = "{namespace: edge, instance: \"10.0.0.1:9090\", pod: burrow-relay-0, team: network";
        String labelsC =
                "{namespace: edge, job: burrow-relay-mesh, instance: \"10.0.0.3:9090\", pod: burrow-relay-2, team: network";
        String tests = """
                rule_files: [unit-rules.yaml]
                evaluation_interval: 1m
                tests:
                  # relay A (down as far as Prometheus knows) is in trouble in every way; B is healthy; C has no mesh link to B
                  - interval: 1m
                    input_series:
                      - {series: 'up{%1$s}', values: '0x30'}
                      - {series: 'up{%2$s}', values: '1x30'}
                      - {series: 'up{%3$s}', values: '1x30'}
                      - {series: 'burrow_relay_draining{%1$s}', values: '1x30'}
                      - {series: 'burrow_relay_draining{%2$s}', values: '0x30'}
                      - {series: 'burrow_relay_clients{%1$s}', values: '40001x30'}
                      - {series: 'burrow_relay_clients{%2$s}', values: '39999x30'}
                      - {series: 'burrow_relay_handshakes_total{%1$s,outcome="server_full"}', values: '0+5x30'}
                      - {series: 'burrow_relay_handshakes_total{%2$s,outcome="server_full"}', values: '0x30'}
                      - {series: 'burrow_relay_handshakes_total{%2$s,outcome="ok"}', values: '0+100x30'}
                      - {series: 'burrow_relay_drops_total{%1$s,reason="queue_full"}', values: '0+600x30'}
                      - {series: 'burrow_relay_datagrams_forwarded_total{%1$s}', values: '0+6000x30'}
                      - {series: 'burrow_relay_drops_total{%2$s,reason="queue_full"}', values: '0+6x30'}
                      - {series: 'burrow_relay_datagrams_forwarded_total{%2$s}', values: '0+6000x30'}
                      - {series: 'burrow_relay_mesh_links{%2$s}', values: '2x30'}
                      - {series: 'burrow_relay_mesh_links{%3$s}', values: '0x30'}
                      - {series: 'burrow_relay_info{%1$s,transport="nio",version="0.1.0"}', values: '1x30'}
                      - {series: 'burrow_relay_info{%2$s,transport="epoll",version="0.1.0"}', values: '1x30'}
                    alert_rule_test:
                      - eval_time: 1m
                        alertname: BurrowRelayDown
                        exp_alerts: []
                      - eval_time: 3m
                        alertname: BurrowRelayDown
                        exp_alerts: [{exp_labels: %4$s, severity: critical}}]
                      - eval_time: 1m
                        alertname: BurrowRelayDrainStuck
                        exp_alerts: []
                      - eval_time: 2m
                        alertname: BurrowRelayDrainStuck
                        exp_alerts: [{exp_labels: %4$s, severity: warning}}]
                      - eval_time: 15m
                        alertname: BurrowRelayNearCapacity
                        exp_alerts: [{exp_labels: %4$s, severity: warning}}]
                      - eval_time: 10m
                        alertname: BurrowRelayServerFull
                        exp_alerts: [{exp_labels: %5$s, severity: warning}}]
                      - eval_time: 25m
                        alertname: BurrowRelaySlowReceivers
                        exp_alerts: [{exp_labels: %5$s, severity: warning}}]
                      - eval_time: 10m
                        alertname: BurrowRelayMeshPartition
                        exp_alerts: [{exp_labels: %6$s, severity: warning}}]
                      - eval_time: 20m
                        alertname: BurrowRelayTransportNio
                        exp_alerts: [{exp_labels: {namespace: edge, job: burrow-relay-mesh, instance: "10.0.0.1:9090", pod: burrow-relay-0, transport: nio, version: 0.1.0, team: network, severity: info}}]
                      - eval_time: 25m
                        alertname: BurrowRelayAdmissionInternalError
                        exp_alerts: []
                      - eval_time: 25m
                        alertname: BurrowRelayCircuitsFailing
                        exp_alerts: []
                """.formatted(a, b, c, labelsA, sumA, labelsC);
        Path file = work.resolve("unit-tests.yaml");
        Files.writeString(file, tests);
        Process p = new ProcessBuilder(promtool.toString(), "test", "rules", file.toString())
                .directory(work.toFile())
                .redirectErrorStream(true)
                .start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).contains("SUCCESS");
    }

    // ---------- metric names ----------

    @Test
    void everyMetricTheDashboardAndAlertsUseIsExported() throws IOException {
        Set<String> scraped = scrapedNames(scrape);
        Set<String> documented = documentedNames();
        Set<String> used = new LinkedHashSet<>();
        for (String expr : allExpressions()) {
            used.addAll(PromQl.metricNames(expr));
        }
        assertThat(used)
                .as("the extraction finds the expressions' metrics")
                .contains(
                        "burrow_relay_clients",
                        "burrow_relay_circuit_setup_seconds_bucket",
                        "jvm_memory_used_bytes",
                        "up");
        for (String name : used) {
            if (NOT_OURS.contains(name)) {
                continue;
            }
            assertThat(scraped)
                    .as("%s is used by the dashboard or an alert but a fresh relay does not export it", name)
                    .contains(name);
            if (name.startsWith("burrow_relay_")) {
                assertThat(documented)
                        .as("%s is not in the table of docs/operations.md", name)
                        .contains(PromQl.baseName(name));
            }
        }
        // Every documented relay series is on the dashboard.
        Set<String> onDashboard = new LinkedHashSet<>();
        expressions(dashboard()).forEach(e -> PromQl.metricNames(e).forEach(n -> onDashboard.add(PromQl.baseName(n))));
        assertThat(onDashboard).containsAll(documented);
    }

    @Test
    void labelValuesTheDashboardAndAlertsMatchExist() throws IOException {
        List<String> lines = List.of(scrape.split("\n"));
        for (String expr : allExpressions()) {
            Matcher sel = SELECTOR.matcher(expr);
            while (sel.find()) {
                String metric = sel.group(1);
                if (!metric.startsWith("burrow_relay_")) {
                    continue;
                }
                Matcher m = MATCHER.matcher(sel.group(2));
                while (m.find()) {
                    String label = m.group(1);
                    if (Set.of("job", "instance", "namespace", "pod").contains(label)) {
                        continue;
                    }
                    for (String value : m.group(3).split("\\|")) {
                        String wanted = label + "=\"" + value + "\"";
                        assertThat(lines)
                                .as("%s{%s} in the scrape", metric, wanted)
                                .anyMatch(l -> l.startsWith(metric + "{") && l.contains(wanted));
                    }
                }
            }
        }
    }

    // ---------- helpers ----------

    private JsonNode dashboard() throws IOException {
        return JSON.readTree(all.get("ConfigMap", FULLNAME + "-dashboard")
                .at("/data/burrow-relay.json")
                .asText());
    }

    private static List<String> expressions(JsonNode dash) {
        List<String> out = new ArrayList<>();
        for (JsonNode panel : dash.path("panels")) {
            panel.path("targets").forEach(t -> out.add(t.path("expr").asText()));
        }
        for (JsonNode v : dash.at("/templating/list")) {
            String q = v.path("query").isObject() ? v.at("/query/query").asText() : "";
            Matcher lv = Pattern.compile("label_values\\((.*),\\s*\\w+\\)").matcher(q);
            if (lv.matches()) {
                out.add(lv.group(1));
            }
        }
        return out;
    }

    private List<String> allExpressions() throws IOException {
        List<String> out = new ArrayList<>(expressions(dashboard()));
        alerts(all.get("PrometheusRule", FULLNAME))
                .values()
                .forEach(a -> out.add(a.path("expr").asText()));
        return out;
    }

    private static Map<String, JsonNode> alerts(JsonNode prometheusRule) {
        Map<String, JsonNode> out = new LinkedHashMap<>();
        for (JsonNode group : prometheusRule.at("/spec/groups")) {
            for (JsonNode r : group.path("rules")) {
                out.put(r.path("alert").asText(), r);
            }
        }
        return out;
    }

    static String operationsDoc() throws IOException {
        return Files.readString(ChartRenderer.repoRoot().resolve("docs/operations.md"));
    }

    /** The burrow_relay_* names in the metrics table of docs/operations.md (as RelayMetricsSeriesTest reads it). */
    static Set<String> documentedNames() throws IOException {
        String doc = operationsDoc();
        int from = doc.indexOf("## Metrics and alerts");
        int to = doc.indexOf("Alert on:", from);
        Set<String> out = new LinkedHashSet<>();
        Pattern name = Pattern.compile("`(burrow_relay_[a-z_]+)`");
        for (String line : doc.substring(from, to).split("\n")) {
            if (line.startsWith("| `burrow_relay_")) {
                Matcher m = name.matcher(line.substring(0, line.indexOf('|', 2)));
                while (m.find()) {
                    out.add(m.group(1));
                }
            }
        }
        return out;
    }

    private static Set<String> scrapedNames(String scrape) {
        Set<String> out = new LinkedHashSet<>();
        for (String line : scrape.split("\n")) {
            if (!line.isEmpty() && !line.startsWith("#")) {
                int brace = line.indexOf('{');
                out.add(line.substring(0, brace >= 0 ? brace : line.indexOf(' ')));
            }
        }
        return out;
    }

    /**
     * A tool from the PATH (or /usr/bin). In CI (CI=true) a missing tool fails the test, since
     * scripts/install-test-deps.sh installs it; elsewhere the test is skipped with a message.
     */
    static Path tool(String name, String from) {
        for (String dir : (System.getenv().getOrDefault("PATH", "") + ":/usr/bin:/usr/sbin").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return Path.of(dir, name);
            }
        }
        String message = name + " not found (" + from + "; scripts/install-test-deps.sh installs it)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) {
            throw new AssertionError(message);
        }
        Assumptions.abort(message);
        return null;
    }
}
