package dev.burrow.netlab;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * The rule for tests that need the lab: without root or namespaces they are <em>skipped with the
 * reason</em> on a developer machine, but <em>fail</em> when the environment says {@code CI=true},
 * so a CI runner that silently lost its privileges cannot turn the NAT tests green by skipping them.
 */
public final class NetLabSupport {
    private NetLabSupport() {}

    /** What a test should do given the environment and the probe result. */
    public enum Decision {
        RUN,
        SKIP,
        FAIL
    }

    /** Pure form of the rule, unit-tested without root. */
    public static Decision decide(Map<String, String> env, Optional<String> missing) {
        if (missing.isEmpty()) {
            return Decision.RUN;
        }
        return isCi(env) ? Decision.FAIL : Decision.SKIP;
    }

    static boolean isCi(Map<String, String> env) {
        return "true".equalsIgnoreCase(env.getOrDefault("CI", "").strip());
    }

    /** Applies the rule for this machine: returns when the lab can run, aborts (skip) or fails the test otherwise. */
    public static LabCapabilities require() {
        LabCapabilities caps = LabCapabilities.get();
        enforce(
                decide(System.getenv(), caps.missing()),
                caps.missing().map(r -> "NAT lab unavailable: " + r).orElse(""));
        return caps;
    }

    /** Turns a decision into JUnit's outcome: nothing, an aborted (skipped) test, or a failure, each with the reason. */
    static void enforce(Decision decision, String reason) {
        switch (decision) {
            case RUN -> {}
            case SKIP -> Assumptions.abort(reason + " (skipped; with CI=true this fails)");
            case FAIL -> Assertions.fail(reason + " (CI=true: the NAT lab must run in CI)");
        }
    }

    /**
     * Applies the same rule to an optional kernel feature (for example netem): skip locally, fail in CI
     * only when {@code requiredInCi} says CI machines are expected to have it.
     */
    public static void requireFeature(boolean present, String reason, boolean requiredInCi) {
        if (present) {
            return;
        }
        if (requiredInCi && isCi(System.getenv())) {
            Assertions.fail(reason + " (CI=true)");
        }
        Assumptions.abort(reason);
    }
}
