package dev.burrow.agent.endpoint;

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
        String host = address.getAddress() == null
                ? address.getHostString()
                : address.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + address.getPort() + " ("
                + source.name().toLowerCase(Locale.ROOT) + ")";
    }
}
