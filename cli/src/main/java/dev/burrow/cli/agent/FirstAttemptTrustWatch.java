package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.relay.RelayClientListener;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.cli.common.TrustFailures;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Trust failures are final until the agent has once reached its relay: a wrong
 * {@code --relay-fingerprint} or a certificate no trusted CA signed will not fix itself, so the
 * command exits non-zero with one line instead of retrying forever. Once the relay was reached, the
 * same failure (a relay that changed its certificate) is logged and retried like any other, since
 * the agent may be serving connections through other paths.
 */
final class FirstAttemptTrustWatch implements RelayClientListener {
    private final AgentConfig.Relay relay;
    private final CompletableFuture<String> fatal = new CompletableFuture<>();
    private volatile boolean reachedOnce;

    FirstAttemptTrustWatch(AgentConfig.Relay relay) {
        this.relay = relay;
    }

    /** Completes with the line to print when the command should exit. */
    CompletableFuture<String> fatal() {
        return fatal;
    }

    @Override
    public void connected(RelayConnectionInfo info) {
        reachedOnce = true;
    }

    @Override
    public void disconnected(Throwable cause, Duration retryIn) {
        if (!reachedOnce) {
            TrustFailures.describe(cause, relay).ifPresent(fatal::complete);
        }
    }
}
