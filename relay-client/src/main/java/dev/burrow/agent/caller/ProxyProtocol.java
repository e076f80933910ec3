package dev.burrow.agent.caller;

import java.util.Locale;

/**
 * Whether an exposed service's target is told who is calling with a PROXY protocol header before
 * the first byte (opt-in per service: a target that does not expect the header would read it as
 * data).
 */
public enum ProxyProtocol {
    /** No header: the target sees the agent's loopback connection and nothing else (default). */
    OFF,
    /** A binary PROXY v2 header with the peer's mapped address and identity TLVs ({@link ProxyHeaders}). */
    V2;

    /** {@code v2}, {@code off} (also {@code none}, {@code false}); anything else is an error naming the choices. */
    public static ProxyProtocol parse(String text) {
        return switch (text.strip().toLowerCase(Locale.ROOT)) {
            case "v2", "2" -> V2;
            case "off", "none", "false", "no" -> OFF;
            default -> throw new IllegalArgumentException("'" + text + "' is not a PROXY protocol setting (v2 or off)");
        };
    }

    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}
