package dev.burrow.cli.agent;

import dev.burrow.agent.ops.OpsEndpoints;
import dev.burrow.cli.common.UsageException;
import java.net.InetSocketAddress;
import picocli.CommandLine.Option;

/** Mixin: the agent's opt-in operator endpoints (Prometheus metrics, the local status page). */
public final class OpsOptions {
    @Option(
            names = "--metrics-listen",
            paramLabel = "HOST:PORT",
            description = "Serve Prometheus metrics on http://HOST:PORT/metrics (a bare PORT: 127.0.0.1). Off unless "
                    + "given here or as 'metrics:' in agent.yaml.")
    String metricsListen;

    @Option(
            names = "--web-listen",
            paramLabel = "127.0.0.1:PORT",
            description = "Serve a read-only status page on this loopback address, at a secret URL that "
                    + "'burrow status --web' prints. Off unless given here or as 'web:' in agent.yaml.")
    String webListen;

    /** {@code base} (from agent.yaml, or none) with the command line's addresses where given. */
    public OpsEndpoints endpoints(OpsEndpoints base) {
        try {
            InetSocketAddress metrics = OpsEndpoints.address(metricsListen, "--metrics-listen");
            InetSocketAddress web = OpsEndpoints.address(webListen, "--web-listen");
            return (base == null ? OpsEndpoints.NONE : base).override(metrics, web);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }
}
