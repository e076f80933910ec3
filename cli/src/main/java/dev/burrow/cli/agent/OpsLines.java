package dev.burrow.cli.agent;

import dev.burrow.agent.ops.OpsEndpoints;
import dev.burrow.agent.ops.OpsHttpServer;
import dev.burrow.cli.common.ProgramName;

/** How commands describe the operator endpoints in their one-line summaries. */
final class OpsLines {
    private OpsLines() {}

    /** "; metrics on http://127.0.0.1:9464/metrics; status page on 127.0.0.1:8089", or "" when both are off. */
    static String verify(OpsEndpoints ops) {
        StringBuilder b = new StringBuilder();
        if (ops.metrics() != null) {
            b.append("; metrics on http://")
                    .append(OpsHttpServer.text(ops.metrics()))
                    .append("/metrics");
        }
        if (ops.web() != null) {
            b.append("; status page on ")
                    .append(OpsHttpServer.text(ops.web()))
                    .append(" (" + ProgramName.command() + " status --web prints its URL)");
        }
        return b.toString();
    }
}
