package dev.burrow.agent.relay;

import java.net.URI;

/**
 * Chooses the relay for the next connection attempt. The default always returns the configured
 * URL; a fleet-aware selector can move to another relay, for example when the current one said
 * RESTARTING and did not come back within its {@code tryFor} window.
 */
@FunctionalInterface
public interface RelayUrlSelector {

    /** Why a connection is being attempted. */
    enum Reason {
        /** First connection after {@link RelayClient#start()}. */
        INITIAL,
        /** The connection failed or was lost. */
        RECONNECT,
        /** The relay announced RESTARTING and its reconnect delay passed; we are inside its {@code tryFor} window. */
        RESTARTING,
        /** The relay announced RESTARTING and did not take us back within {@code tryFor}: another relay may be better. */
        RESTART_WINDOW_EXPIRED,
        /** The relay refused us (DENY); see {@link RelayClient#lastDenial()}. */
        DENIED
    }

    /**
     * @param configured the URL from the configuration
     * @param previous   the URL of the previous attempt, or {@code null} before the first
     */
    URI select(URI configured, URI previous, Reason reason);

    RelayUrlSelector FIXED = (configured, previous, reason) -> configured;
}
