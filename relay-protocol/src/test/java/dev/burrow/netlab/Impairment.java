package dev.burrow.netlab;

import java.time.Duration;

/**
 * Link impairment on one interface. Loss is done with nftables ({@code numgen random}) on the
 * interface's ingress and egress hooks, so it works on kernels without netem and applies in both
 * directions. Delay needs {@code tc netem} ({@code CONFIG_NET_SCH_NETEM}) and is added on egress only
 * (so the round trip grows by {@code delay}); check {@link LabCapabilities#netem()} first.
 *
 * @param delay one-way added delay on egress, zero for none
 * @param lossPercent chance of dropping each packet, in each direction, 0 to 100 (resolution 0.1)
 */
public record Impairment(Duration delay, double lossPercent) {
    public Impairment {
        if (delay.isNegative() || lossPercent < 0 || lossPercent > 100) {
            throw new IllegalArgumentException("delay >= 0 and 0 <= loss <= 100 required: " + delay + ", " + lossPercent);
        }
    }

    public static Impairment loss(double percent) {
        return new Impairment(Duration.ZERO, percent);
    }

    public static Impairment delay(Duration delay) {
        return new Impairment(delay, 0);
    }

    int lossPerMille() {
        return (int) Math.round(lossPercent * 10);
    }

    /** The nftables ruleset dropping {@code lossPercent} of the packets on {@code iface}, both directions. */
    String lossRuleset(String iface) {
        int permille = lossPerMille();
        return "table netdev netlab_loss {\n"
                + " chain ingress {\n  type filter hook ingress device \"" + iface + "\" priority filter;\n"
                + "  numgen random mod 1000 < " + permille + " drop\n }\n"
                + " chain egress {\n  type filter hook egress device \"" + iface + "\" priority filter;\n"
                + "  numgen random mod 1000 < " + permille + " drop\n }\n"
                + "}\n";
    }

    /** Applies this impairment to {@code iface} in {@code ns}, replacing any earlier one. */
    void apply(Namespace ns, String iface) {
        clear(ns, iface);
        if (!delay.isZero()) {
            if (!LabCapabilities.get().netem()) {
                throw new NetLabException("delay needs tc netem, which this kernel lacks (CONFIG_NET_SCH_NETEM); check LabCapabilities.netem()");
            }
            ns.exec("tc", "qdisc", "replace", "dev", iface, "root", "netem", "delay", delay.toMillis() + "ms");
        }
        if (lossPerMille() > 0) {
            ns.nft(lossRuleset(iface));
        }
    }

    static void clear(Namespace ns, String iface) {
        ns.tryExec("tc", "qdisc", "del", "dev", iface, "root");
        ns.tryExec("nft", "delete", "table", "netdev", "netlab_loss");
    }
}
