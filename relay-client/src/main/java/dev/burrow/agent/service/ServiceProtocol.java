package dev.burrow.agent.service;

import java.util.Locale;

/** What a service or forward carries: TCP streams (the default) or UDP datagrams ({@code protocol: udp}). */
public enum ServiceProtocol {
    TCP,
    UDP;

    /** {@code tcp} or {@code udp} (any case). */
    public static ServiceProtocol parse(String s) {
        return switch (s == null ? "" : s.trim().toLowerCase(Locale.ROOT)) {
            case "tcp" -> TCP;
            case "udp" -> UDP;
            default -> throw new IllegalArgumentException("protocol must be tcp or udp, got '" + s + "'");
        };
    }

    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}
