package dev.burrow.cli.agent;

import dev.burrow.agent.Agent;
import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.metrics.MicrometerAgentMetrics;
import dev.burrow.agent.ops.AgentMeters;
import dev.burrow.agent.ops.OpsEndpoints;
import dev.burrow.agent.ops.OpsHttpServer;
import dev.burrow.agent.ops.StatusPage;
import dev.burrow.identity.SecureFiles;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running agent's operator endpoints: Prometheus {@code /metrics} and the status page, each only
 * when its address is configured ({@link OpsEndpoints}). The meter registry exists before the agent
 * starts (the agent records into it from its first stream); the servers start once the agent runs.
 */
final class AgentOps implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(AgentOps.class);
    /** The exposition format Prometheus scrapes (text 0.0.4). */
    static final String METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private final OpsEndpoints endpoints;
    /** Null when metrics are off. */
    private final PrometheusMeterRegistry registry;

    /** Held here: Micrometer's gauges keep only a weak reference to the object they read. */
    private AgentMeters meters;

    private OpsHttpServer metricsServer;
    private OpsHttpServer webServer;
    private Path urlFile;

    private AgentOps(OpsEndpoints endpoints) {
        this.endpoints = endpoints;
        this.registry = endpoints.metrics() == null ? null : new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    }

    static AgentOps prepare(OpsEndpoints endpoints) {
        return new AgentOps(endpoints == null ? OpsEndpoints.NONE : endpoints);
    }

    /** What the agent records its streams into. */
    AgentMetrics recorder() {
        return registry == null ? AgentMetrics.NOOP : new MicrometerAgentMetrics(registry);
    }

    /** Binds the configured endpoints; on failure nothing stays open. */
    void start(Agent agent, Path stateDir) throws IOException {
        try {
            if (registry != null) {
                meters = AgentMeters.bind(registry, agent::status);
                metricsServer = OpsHttpServer.start(endpoints.metrics(), "metrics", r -> switch (r.path()) {
                    case "/metrics" ->
                        new OpsHttpServer.Response(
                                200,
                                METRICS_CONTENT_TYPE,
                                registry.scrape().getBytes(StandardCharsets.UTF_8),
                                Map.of());
                    case "/" -> OpsHttpServer.Response.text(200, "burrow agent: metrics at /metrics\n");
                    default -> OpsHttpServer.Response.text(404, "not found\n");
                });
                log.info("agent metrics on http://{}/metrics", OpsHttpServer.text(metricsServer.address()));
            }
            if (endpoints.web() != null) {
                StatusPage page = StatusPage.create(StatusPage.loadOrCreateSecret(stateDir), agent::status);
                webServer = OpsHttpServer.start(endpoints.web(), "web", page::route);
                urlFile = stateDir.resolve(StatusPage.URL_FILE);
                SecureFiles.writeAtomically(
                        urlFile,
                        page.url(webServer.address()).getBytes(StandardCharsets.US_ASCII),
                        SecureFiles.SECRET_PERMS);
                log.info(
                        "status page on http://{} ('burrow status --web' prints its secret URL)",
                        OpsHttpServer.text(webServer.address()));
            }
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public void close() {
        if (urlFile != null) {
            try {
                Files.deleteIfExists(urlFile);
            } catch (IOException e) {
                log.debug("cannot remove {}: {}", urlFile, e.toString());
            }
            urlFile = null;
        }
        if (webServer != null) {
            webServer.close();
            webServer = null;
        }
        if (metricsServer != null) {
            metricsServer.close();
            metricsServer = null;
        }
        if (registry != null) {
            registry.close();
        }
    }
}
