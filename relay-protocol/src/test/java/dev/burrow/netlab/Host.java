package dev.burrow.netlab;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;

/** An end host: a namespace with one interface ({@code eth0}), its addresses and a default route. */
public class Host extends Namespace {
    /** Every host's single interface. */
    public static final String IFACE = "eth0";

    private final List<InetAddress> addresses = new ArrayList<>();

    Host(NetLab lab, String label, InetAddress address) {
        super(lab, label);
        addresses.add(address);
    }

    /** The primary address (public for {@link PublicHost}, private for a host behind a NAT). */
    public InetAddress address() {
        return addresses.get(0);
    }

    /** The primary address as text, for command lines. */
    public String ip() {
        return address().getHostAddress();
    }

    public List<InetAddress> addresses() {
        return List.copyOf(addresses);
    }

    /** The host's global IPv6 address (dual-stack labs), or empty. */
    public java.util.Optional<InetAddress> ipv6Address() {
        return addresses.stream()
                .filter(a -> a instanceof java.net.Inet6Address)
                .findFirst();
    }

    /** The host's global IPv6 address as text ({@code 2001:db8:1::10}, RFC 5952); fails when it has none. */
    public String ipv6() {
        return io.netty.util.NetUtil.toAddressString(
                ipv6Address().orElseThrow(() -> new NetLabException(label() + " has no IPv6 address")));
    }

    void recordAddress(InetAddress a) {
        addresses.add(a);
    }

    /** Impairs this host's link (loss both ways; delay on egress, needs netem). */
    public void impair(Impairment impairment) {
        impairment.apply(this, IFACE);
    }

    public void clearImpairment() {
        Impairment.clear(this, IFACE);
    }

    /** Whether {@code target} answers ICMP echo from here (needs {@code ping}; bounded to about 2 s). */
    public boolean ping(InetAddress target) {
        return tryExec("ping", "-n", "-q", "-c", "1", "-W", "2", target.getHostAddress())
                .ok();
    }
}
