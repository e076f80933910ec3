package dev.burrow.agent.endpoint;

import io.netty.util.NetUtil;
import java.net.InetSocketAddress;
import java.util.Locale;

/** A candidate address where a peer might reach one of our UDP sockets, and where we learned it. */
public record Endpoint(InetSocketAddress address, Source source) {
    public enum Source {
        /** An address of a local interface (reachable on the same LAN, or when the host is public). */
        LOCAL,
        /** A STUN server's view of the socket (the NAT's public mapping). */
        STUN
    }

    /** {@code 192.0.2.2:43203 (local)}: how logs and status show it (not the record's {@code Endpoint[...]}). */
    @Override
    public String toString() {
        return format(address) + " (" + source.name().toLowerCase(Locale.ROOT) + ")";
    }

    /**
     * An endpoint as logs and status show it: {@code 203.0.113.5:41641}, or {@code
     * [2001:db8:1::10]:41641} for IPv6 (RFC 5952 text, brackets so the port is unambiguous).
     */
    public static String format(InetSocketAddress a) {
        String host = a.getAddress() == null ? a.getHostString() : NetUtil.toAddressString(a.getAddress());
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }
}
