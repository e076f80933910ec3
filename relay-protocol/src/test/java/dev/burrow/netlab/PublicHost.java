package dev.burrow.netlab;

import java.net.InetAddress;

/**
 * A host on the lab's public internet, no NAT: its address is what everyone sees. A relay, a STUN
 * server, or a "client with a public IP".
 */
public final class PublicHost extends Host {
    PublicHost(NetLab lab, String label, InetAddress address) {
        super(lab, label, address);
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
