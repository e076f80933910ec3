package dev.burrow.cli.stun;

import dev.burrow.cli.common.UsageException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parsing of the STUN commands' option values; every mistake is a {@link UsageException} (exit 2). */
final class StunOptions {
    private StunOptions() {}

    private static final Pattern RATE = Pattern.compile("(\\d{1,7})(/s)?");

    /**
     * {@code HOST:PORT}, {@code [V6]:PORT}, or (when {@code defaultPort >= 0}) a bare {@code HOST}.
     * Port 0 is accepted only when {@code allowZero} (listening on an ephemeral port).
     */
    static InetSocketAddress hostPort(
            String option, String text, int defaultPort, boolean allowZero, boolean preferIpv4) {
        String host;
        String port;
        if (text.startsWith("[")) {
            int end = text.indexOf(']');
            if (end < 0) {
                throw new UsageException(option + ": missing ']' in '" + text + "'");
            }
            host = text.substring(1, end);
            String rest = text.substring(end + 1);
            port = rest.isEmpty() ? null : rest.startsWith(":") ? rest.substring(1) : bad(option, text);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon >= 0 && text.indexOf(':') != colon) {
                throw new UsageException(option + ": write IPv6 addresses in brackets, e.g. [::1]:3478");
            }
            host = colon < 0 ? text : text.substring(0, colon);
            port = colon < 0 ? null : text.substring(colon + 1);
        }
        int p;
        if (port == null) {
            if (defaultPort < 0) {
                throw new UsageException(option + ": expected HOST:PORT, got '" + text + "'");
            }
            p = defaultPort;
        } else {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                throw new UsageException(option + ": bad port in '" + text + "'");
            }
            if (p < (allowZero ? 0 : 1) || p > 65535) {
                throw new UsageException(option + ": port must be " + (allowZero ? "0" : "1") + "..65535, got " + p);
            }
        }
        if (host.isEmpty()) {
            throw new UsageException(option + ": missing host in '" + text + "'");
        }
        return new InetSocketAddress(resolve(option, host, preferIpv4), p);
    }

    private static String bad(String option, String text) {
        throw new UsageException(option + ": expected [V6]:PORT, got '" + text + "'");
    }

    private static InetAddress resolve(String option, String host, boolean preferIpv4) {
        try {
            InetAddress[] all = InetAddress.getAllByName(host);
            for (InetAddress a : all) {
                if ((a instanceof Inet4Address) == preferIpv4) {
                    return a;
                }
            }
            return all[0];
        } catch (UnknownHostException e) {
            throw new UsageException(option + ": cannot resolve '" + host + "'");
        }
    }

    /** {@code N/s} or {@code N}: requests per second, at least 1. */
    static int rate(String option, String text) {
        Matcher m = RATE.matcher(text.trim());
        if (!m.matches() || Integer.parseInt(m.group(1)) < 1) {
            throw new UsageException(option + ": expected a rate like 20/s, got '" + text + "'");
        }
        return Integer.parseInt(m.group(1));
    }
}
