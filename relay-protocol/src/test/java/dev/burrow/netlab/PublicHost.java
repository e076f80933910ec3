package dev.burrow.netlab;

import java.net.InetAddress;

/**
 * A host on the lab's public internet, no NAT: its address is what everyone sees. A relay, a STUN
 * server, or a "client with a public IP".
 */
public final class PublicHost extends Host {
    /** The digits of its IPv4 address's last octet, reused for its IPv6 address. */
    private final int number;

    PublicHost(NetLab lab, String label, InetAddress address, int number) {
        super(lab, label, address);
        this.number = number;
    }

    /**
     * Gives the host an IPv6 address on the lab internet, 2001:db8::(its IPv4 last octet's digits),
     * e.g. 2001:db8::100 for 203.0.113.100, with an IPv6 default route via the internet router.
     * Needs a {@link NetLab#createDualStack() dual-stack lab}. Returns it; idempotent.
     */
    public synchronized InetAddress addIpv6Address() {
        if (!lab.ipv6()) {
            throw new NetLabException("IPv6 on '" + label() + "' needs a lab from NetLab.createDualStack()");
        }
        var existing = ipv6Address();
        if (existing.isPresent()) {
            return existing.get();
        }
        InetAddress a = NetLab.ipv6(NetLab.IPV6_INTERNET_PREFIX + number);
        exec("ip", "addr", "add", a.getHostAddress() + "/64", "dev", IFACE, "nodad");
        exec("ip", "-6", "route", "add", "default", "via", NetLab.IPV6_INTERNET_PREFIX + "1");
        recordAddress(a);
        return a;
    }

    /**
     * Adds a second public address from the other documentation network (198.51.100.0/24), for
     * servers that need two IPs (an RFC 5780 STUN server, a second relay endpoint).
     */
    public InetAddress addAddress() {
        InetAddress a = lab.allocateSecondaryPublic();
        exec("ip", "addr", "add", a.getHostAddress() + "/24", "dev", IFACE);
        recordAddress(a);
        return a;
    }
}
