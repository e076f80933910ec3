package dev.burrow.cli.stun;

import dev.burrow.cli.common.UsageException;
import dev.burrow.protocol.HostPort;
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
        HostPort hp;
        try {
            hp = HostPort.parseBracketed(text, defaultPort);
        } catch (IllegalArgumentException e) {
            throw new UsageException(option + ": " + e.getMessage());
        }
        if (hp.port() == 0 && !allowZero) {
            throw new UsageException(option + ": port must be 1..65535, got 0");
        }
        if (hp.host().isEmpty()) {
            throw new UsageException(option + ": missing host in '" + text + "'");
        }
        return new InetSocketAddress(resolve(option, hp.host(), preferIpv4), hp.port());
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
