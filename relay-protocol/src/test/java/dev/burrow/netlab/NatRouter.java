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
    private final SiteIpv6 ipv6;
    private final List<LanHost> hosts = new ArrayList<>();
    private NatBehaviour behaviour;
    private Duration mappingTimeout = NatBehaviour.DEFAULT_MAPPING_TIMEOUT;
    private boolean firewallInput = true;
    private int lanSlots;

    NatRouter(NetLab lab, String label, int siteIndex, InetAddress publicAddress, SiteIpv6 ipv6) {
        super(lab, label);
        this.siteIndex = siteIndex;
        this.publicAddress = publicAddress;
        this.ipv6 = ipv6;
    }

    /** How this site does IPv6 ({@link SiteIpv6#NONE} unless added so to a dual-stack lab). */
    public SiteIpv6 ipv6() {
        return ipv6;
    }

    /** The router's IPv6 address on the internet, 2001:db8::(9+N); the site must have IPv6. */
    public InetAddress ipv6PublicAddress() {
        requireIpv6();
        return NetLab.ipv6(NetLab.IPV6_INTERNET_PREFIX + (9 + siteIndex));
    }

    /** The LAN's IPv6 gateway, 2001:db8:N::1. */
    public InetAddress ipv6LanGateway() {
        requireIpv6();
        return NetLab.ipv6("2001:db8:" + siteIndex + "::1");
    }

    /** The LAN's routed IPv6 prefix, 2001:db8:N::/64. */
    public String ipv6LanPrefix() {
        requireIpv6();
        return "2001:db8:" + siteIndex + "::/64";
    }

    /**
     * Packets from the internet the IPv6 firewall dropped for not belonging to a flow the LAN started
     * (the {@link Ipv6Firewall#UNSOLICITED_COUNTER} counter).
     */
    public long unsolicitedIpv6Drops() {
        if (ipv6 != SiteIpv6.STATEFUL_FIREWALL) {
            throw new NetLabException(label() + " has no IPv6 firewall");
        }
        String out = exec("nft", "list", "counter", "ip6", Ipv6Firewall.TABLE, Ipv6Firewall.UNSOLICITED_COUNTER)
                .stdout();
        java.util.regex.Matcher m =
                java.util.regex.Pattern.compile("packets (\\d+)").matcher(out);
        if (!m.find()) {
            throw new NetLabException("no packet count in: " + out);
        }
        return Long.parseLong(m.group(1));
    }

    private void requireIpv6() {
        if (ipv6 == SiteIpv6.NONE) {
            throw new NetLabException(label() + " has no IPv6 (add it with a SiteIpv6 mode to a dual-stack lab)");
        }
    }

    /**
     * The router's WAN address: for a site on the internet its public address, the source address the
     * internet sees for its LAN hosts; for a site behind another NAT ({@link NetLab#addSiteBehind})
     * an address on that NAT's LAN.
     */
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

    /**
     * Adds a host on this site's LAN, at 10.N.0.(10+k), default route via the router; on a site with
     * IPv6 also at 2001:db8:N::(10+k) (the same digits), IPv6 default route via 2001:db8:N::1.
     */
    public LanHost addHost(String label) {
        if (lanSlots >= 200) {
            throw new NetLabException("too many hosts on " + label());
        }
        int slot = 10 + lanSlots;
        InetAddress address = NetLab.ipv4(10, siteIndex, 0, slot);
        LanHost host = lab.register(new LanHost(lab, label, address, this));
        lab.createNamespace(host, ipv6 != SiteIpv6.NONE);
        plugIn(host, Host.IFACE, address);
        if (ipv6 != SiteIpv6.NONE) {
            InetAddress v6 = NetLab.ipv6("2001:db8:" + siteIndex + "::" + slot);
            host.exec("ip", "addr", "add", v6.getHostAddress() + "/64", "dev", Host.IFACE, "nodad");
            host.exec(
                    "ip",
                    "-6",
                    "route",
                    "add",
                    "default",
                    "via",
                    ipv6LanGateway().getHostAddress());
            host.recordAddress(v6);
        }
        hosts.add(host);
        return host;
    }

    /** The next free LAN address, 10.N.0.(10+k) (hosts and routers behind this one share the range). */
    InetAddress allocateLanAddress() {
        if (lanSlots >= 200) {
            throw new NetLabException("too many hosts on " + label());
        }
        return NetLab.ipv4(10, siteIndex, 0, 10 + lanSlots);
    }

    /**
     * Plugs {@code ns} into this router's LAN bridge: a veth pair ({@code iface} in {@code ns}, port
     * {@code l<k>} on the bridge), {@code address}/24 and a default route via this router.
     */
    void plugIn(Namespace ns, String iface, InetAddress address) {
        String port = "l" + lanSlots++;
        NetLab.cmd(
                "ip", "link", "add", iface, "netns", ns.name(), "type", "veth", "peer", "name", port, "netns", name());
        exec("ip", "link", "set", port, "master", LAN_BRIDGE, "up");
        ns.recordAttachment(new Attachment(ns, this, LAN_BRIDGE, port));
        ns.exec("ip", "addr", "add", address.getHostAddress() + "/24", "dev", iface);
        ns.exec("ip", "link", "set", iface, "up");
        ns.exec("ip", "route", "add", "default", "via", lanGateway().getHostAddress());
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
