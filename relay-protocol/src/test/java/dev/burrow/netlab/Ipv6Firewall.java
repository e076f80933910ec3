package dev.burrow.netlab;

/**
 * The IPv6 side of a lab router with {@link SiteIpv6#STATEFUL_FIREWALL}: no NAT (the LAN prefix is
 * routed), but a conntrack firewall like a home router's. It lives in its own table ({@code ip6
 * netlab6}) so that replacing the IPv4 NAT ({@link NatRouter#setBehaviour}) leaves it alone.
 *
 * <ul>
 *   <li>forward: packets of known flows ({@code ct state established,related}: replies, and ICMPv6
 *       errors about them) pass; anything else arriving on the WAN is dropped and counted in the
 *       named counter {@value #UNSOLICITED_COUNTER}; everything the LAN sends out passes (and so
 *       opens its flow). For UDP this is address-and-port-dependent filtering without a mapping:
 *       a host is reachable from exactly the ip:port pairs it has sent to, which is what hole
 *       punching needs.</li>
 *   <li>input: nothing unsolicited from the WAN reaches the router itself, as for IPv4. Neighbour
 *       discovery is not tracked by conntrack (state {@code untracked}), so it still passes.</li>
 * </ul>
 */
public final class Ipv6Firewall {
    /** The nftables table (family {@code ip6}). */
    public static final String TABLE = "netlab6";
    /** Packets from the WAN dropped for not belonging to a flow the LAN started. */
    public static final String UNSOLICITED_COUNTER = "unsolicited";

    private Ipv6Firewall() {}

    /** The ruleset for a router whose public interface is {@code wan}. */
    public static String ruleset(String wan) {
        String q = "\"" + wan + "\"";
        return "table ip6 " + TABLE + " {\n"
                + " counter " + UNSOLICITED_COUNTER + " {\n }\n"
                + " chain forward {\n  type filter hook forward priority filter; policy accept;\n"
                + "  ct state established,related accept\n"
                + "  iifname " + q + " counter name \"" + UNSOLICITED_COUNTER + "\" drop\n"
                + " }\n"
                + " chain input {\n  type filter hook input priority filter; policy accept;\n"
                + "  iifname " + q + " ct state new drop\n"
                + " }\n"
                + "}\n";
    }
}
