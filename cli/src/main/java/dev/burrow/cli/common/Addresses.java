package dev.burrow.cli.common;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.stream.Collectors;

/** Socket addresses as a person writes them: {@code 127.0.0.1:8443}, {@code [::1]:8443} (not {@code /127.0.0.1:8443}). */
public final class Addresses {
    private Addresses() {}

    public static String text(InetSocketAddress a) {
        if (a == null) {
            return "-";
        }
        String host =
                a.getAddress() == null ? a.getHostString() : a.getAddress().getHostAddress();
        if (host.contains(":")) {
            host = a.getAddress() != null && a.getAddress().isAnyLocalAddress() ? "::" : host;
            return "[" + host + "]:" + a.getPort();
        }
        return host + ":" + a.getPort();
    }

    public static String text(List<InetSocketAddress> all) {
        return all.stream().map(Addresses::text).collect(Collectors.joining(", "));
    }
}
