package dev.burrow.netlab;

/**
 * The behaviour of a lab NAT router: how it maps, how it filters, or whether it blocks UDP outright.
 * The constants are the usual named NAT types.
 */
public record NatBehaviour(NatMapping mapping, NatFiltering filtering, boolean udpBlocked) {
    /** Port-restricted cone, the common home router and what plain Linux masquerade gives. */
    public static final NatBehaviour EIM =
            new NatBehaviour(NatMapping.ENDPOINT_INDEPENDENT, NatFiltering.ADDRESS_AND_PORT_DEPENDENT, false);
    /** EIM with a public port different from the private one. */
    public static final NatBehaviour EIM_REMAPPED =
            new NatBehaviour(NatMapping.ENDPOINT_INDEPENDENT_REMAPPED, NatFiltering.ADDRESS_AND_PORT_DEPENDENT, false);
    /** Full cone: EIM and endpoint-independent filtering. */
    public static final NatBehaviour FULL_CONE =
            new NatBehaviour(NatMapping.ENDPOINT_INDEPENDENT, NatFiltering.ENDPOINT_INDEPENDENT, false);
    /** Restricted cone: EIM and address-dependent filtering. */
    public static final NatBehaviour RESTRICTED_CONE =
            new NatBehaviour(NatMapping.ENDPOINT_INDEPENDENT, NatFiltering.ADDRESS_DEPENDENT, false);
    /** Symmetric: a new random public port per destination ip:port. */
    public static final NatBehaviour SYMMETRIC =
            new NatBehaviour(NatMapping.ADDRESS_AND_PORT_DEPENDENT, NatFiltering.ADDRESS_AND_PORT_DEPENDENT, false);
    /** UDP dropped in both directions at the router (TCP and ICMP still NATed). */
    public static final NatBehaviour UDP_BLOCKED =
            new NatBehaviour(NatMapping.ENDPOINT_INDEPENDENT, NatFiltering.ADDRESS_AND_PORT_DEPENDENT, true);

    /**
     * How long the learned filtering state lives without outgoing traffic by default: the kernel's
     * {@code nf_conntrack_udp_timeout_stream}, so the looser filters forget a mapping when conntrack does.
     */
    public static final java.time.Duration DEFAULT_MAPPING_TIMEOUT = java.time.Duration.ofSeconds(120);

    /** The complete nftables ruleset for a router whose public interface is {@code wan}. */
    public String ruleset(String wan) {
        return ruleset(wan, DEFAULT_MAPPING_TIMEOUT, true);
    }

    /**
     * The ruleset, with learned filtering state expiring after {@code mappingTimeout} without outgoing
     * traffic, and with ({@code firewallInput}) or without a drop of unsolicited packets to the router itself.
     */
    public String ruleset(String wan, java.time.Duration mappingTimeout, boolean firewallInput) {
        String timeout = "  timeout " + Math.max(1, mappingTimeout.toSeconds()) + "s\n";
        StringBuilder s = new StringBuilder("table ip netlab {\n");
        boolean learn = filtering != NatFiltering.ADDRESS_AND_PORT_DEPENDENT;
        if (learn) {
            // mapped public port -> internal ip . port, refreshed by every outgoing packet like a NAT binding.
            s.append(" map cone {\n  type inet_service : ipv4_addr . inet_service\n  flags dynamic,timeout\n" + timeout
                    + " }\n");
        }
        if (filtering == NatFiltering.ADDRESS_DEPENDENT) {
            // mapped public port . remote address the internal host has sent to.
            s.append(" set contacted {\n  type inet_service . ipv4_addr\n  flags dynamic,timeout\n" + timeout + " }\n");
        }
        // Like any home router's firewall: nothing unsolicited from the internet reaches the router
        // itself. Besides realism this matters for hole punching: a packet that is dropped here never
        // gets a conntrack entry, whereas an accepted one (answered with ICMP port unreachable) leaves
        // an entry for peer:port -> router:port that makes the NAT pick another port when the LAN
        // host later sends to that peer from that port, so a simultaneous open fails.
        if (firewallInput) {
            s.append(" chain input {\n  type filter hook input priority filter; policy accept;\n")
                    .append("  iifname \"")
                    .append(wan)
                    .append("\" ct state new drop\n }\n");
        }
        if (udpBlocked) {
            s.append(
                    " chain forward {\n  type filter hook forward priority filter; policy accept;\n  meta l4proto udp drop\n }\n");
        }
        s.append(" chain postrouting {\n  type nat hook postrouting priority srcnat; policy accept;\n");
        for (String stmt : mapping.statements().split("\n")) {
            s.append("  oifname \"")
                    .append(wan)
                    .append("\" ")
                    .append(stmt.strip())
                    .append('\n');
        }
        s.append(" }\n");
        if (learn) {
            // After SNAT: "ct reply proto-dst" is the public port just chosen.
            s.append(" chain learn {\n  type filter hook postrouting priority srcnat + 10; policy accept;\n")
                    .append("  oifname \"")
                    .append(wan)
                    .append(
                            "\" meta l4proto udp update @cone { ct reply proto-dst : ct original ip saddr . ct original proto-src }\n");
            if (filtering == NatFiltering.ADDRESS_DEPENDENT) {
                s.append("  oifname \"")
                        .append(wan)
                        .append("\" meta l4proto udp update @contacted { ct reply proto-dst . ip daddr }\n");
            }
            s.append(" }\n");
            // Only new inbound flows reach a nat chain; replies to existing flows are handled by conntrack.
            s.append(" chain prerouting {\n  type nat hook prerouting priority dstnat; policy accept;\n  iifname \"")
                    .append(wan)
                    .append("\" meta l4proto udp ");
            if (filtering == NatFiltering.ADDRESS_DEPENDENT) {
                s.append("udp dport . ip saddr @contacted ");
            }
            s.append("dnat ip to udp dport map @cone\n }\n");
        }
        s.append("}\n");
        return s.toString();
    }

    @Override
    public String toString() {
        return udpBlocked ? "UDP blocked" : "mapping " + mapping + ", filtering " + filtering;
    }
}
