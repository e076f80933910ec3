package dev.burrow.agent.relay;

import java.util.Locale;

/** Why an agent changed its home relay: a bounded metric tag and the status line's reason. */
public enum RelaySwitchReason {
    /** Another relay was faster by the hysteresis margin for several measurement rounds in a row. */
    LATENCY,
    /** The home relay announced RESTARTING (it drains), or refused us with DENY DRAINING. */
    DRAINING,
    /** The home relay's control connection was lost or timed out (ping), or could not be opened. */
    DEAD;

    /** Lower-case tag value. */
    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }
}
