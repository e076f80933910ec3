package dev.burrow.netlab;

import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A site's NAT router: a namespace with a public interface ({@code wan0}) on the lab internet and a
 * LAN bridge ({@code lan0}, 10.N.0.1/24) that its {@link LanHost}s plug into. Forwarding is on and
 * the {@link NatBehaviour} is an nftables ruleset in this namespace.
 */
public final class NatRouter extends Namespace {
    public static final String WAN = "wan0";
    public static final String LAN_BRIDGE = "lan0";

    private final int siteIndex;
    private final InetAddress publicAddress;
    private final List<LanHost> hosts = new ArrayList<>();
    private NatBehaviour behaviour;
    private Duration mappingTimeout = NatBehaviour.DEFAULT_MAPPING_TIMEOUT;
    private boolean firewallInput = true;

    NatRouter(NetLab lab, String label, int siteIndex, InetAddress publicAddress) {
        super(lab, label);
        this.siteIndex = siteIndex;
        this.publicAddress = publicAddress;
    }

    /** The router's public address: the source address the internet sees for its LAN hosts. */
    public InetAddress publicAddress() {
        return publicAddress;
    }

    /** The LAN gateway address, 10.N.0.1. */
    public InetAddress lanGateway() {
        return NetLab.ipv4(10, siteIndex, 0, 1);
    }

    /** The LAN prefix, 10.N.0.0/24. */
    public String lanSubnet() {
        return "10." + siteIndex + ".0.0/24";
    }

    public NatBehaviour behaviour() {
        return behaviour;
    }

    public List<LanHost> hosts() {
        return List.copyOf(hosts);
    }

    /**
     * Replaces the NAT ruleset. Existing conntrack entries keep their mappings, so set the behaviour
     * before the LAN hosts start sending (the lab has no conntrack tool to flush them).
     */
    public void setBehaviour(NatBehaviour behaviour) {
        tryExec("nft", "delete", "table", "ip", "netlab"); // absent the first time
        nft(behaviour.ruleset(WAN, mappingTimeout, firewallInput));
        this.behaviour = behaviour;
    }

    /**
     * By default the router drops new inbound connections to itself from the internet, like a home
     * router's firewall. {@code false} accepts them (the kernel then answers UDP with ICMP port
     * unreachable and keeps a conntrack entry for each), which breaks simultaneous-open hole punching
     * through this router: see docs/natlab.md.
     */
    public void setFirewallInput(boolean dropUnsolicited) {
        this.firewallInput = dropUnsolicited;
        setBehaviour(behaviour);
    }

    /**
     * Makes idle UDP mappings expire after {@code timeout} (both conntrack UDP timeouts of this router's
     * namespace, and the learned filtering state), for keepalive and mapping-expiry tests. The kernel
     * defaults are 30 s (unreplied) and 120 s (seen both ways). Applies to flows created afterwards.
     */
    public void setUdpMappingTimeout(Duration timeout) {
        long seconds = Math.max(1, timeout.toSeconds());
        sysctl("net.netfilter.nf_conntrack_udp_timeout", String.valueOf(seconds));
        sysctl("net.netfilter.nf_conntrack_udp_timeout_stream", String.valueOf(seconds));
        this.mappingTimeout = Duration.ofSeconds(seconds);
        setBehaviour(behaviour);
    }

    /** Adds a host on this site's LAN, at 10.N.0.(10+k), default route via the router. */
    public LanHost addHost(String label) {
        int k = hosts.size();
        if (k >= 200) {
            throw new NetLabException("too many hosts on " + label());
        }
        InetAddress address = NetLab.ipv4(10, siteIndex, 0, 10 + k);
        LanHost host = lab.register(new LanHost(lab, label, address, this));
        lab.createNamespace(host);
        String port = "l" + k;
        NetLab.cmd(
                "ip",
                "link",
                "add",
                Host.IFACE,
                "netns",
                host.name(),
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                name());
        exec("ip", "link", "set", port, "master", LAN_BRIDGE, "up");
        host.recordAttachment(new Attachment(host, this, LAN_BRIDGE, port));
        host.exec("ip", "addr", "add", address.getHostAddress() + "/24", "dev", Host.IFACE);
        host.exec("ip", "link", "set", Host.IFACE, "up");
        host.exec("ip", "route", "add", "default", "via", lanGateway().getHostAddress());
        hosts.add(host);
        return host;
    }

    /**
     * Drops the first UDP datagram of every new outbound flow (per 5-tuple) and lets the rest
     * through: a deterministic loss that only a client which retransmits survives.
     */
    public void dropFirstOutboundDatagram() {
        nft("table ip netlab_first {\n"
                + " set seen {\n  type ipv4_addr . inet_service . ipv4_addr . inet_service\n  flags dynamic,timeout\n  timeout 5m\n }\n"
                + " chain forward {\n  type filter hook forward priority filter - 10; policy accept;\n"
                + "  iifname \"" + LAN_BRIDGE
                + "\" meta l4proto udp ip saddr . udp sport . ip daddr . udp dport @seen accept\n"
                + "  iifname \"" + LAN_BRIDGE
                + "\" meta l4proto udp add @seen { ip saddr . udp sport . ip daddr . udp dport } drop\n"
                + " }\n}\n");
    }

    /** Impairs the router's public link (loss both ways; delay on egress, needs netem). */
    public void impairWan(Impairment impairment) {
        impairment.apply(this, WAN);
    }
}
