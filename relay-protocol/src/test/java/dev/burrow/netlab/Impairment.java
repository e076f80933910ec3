package dev.burrow.netlab;

import java.time.Duration;

/**
 * Link impairment on one interface. Loss alone is done with nftables ({@code numgen random}) on the
 * interface's ingress and egress hooks, so it works on kernels without netem and applies in both
 * directions. Delay uses {@code tc netem} on egress when the kernel has it ({@code CONFIG_NET_SCH_NETEM}),
 * and otherwise splices a userspace {@link DelayLink} into the link, which delays both directions by
 * {@code delay} (so the round trip grows by twice as much); a delay box cannot be removed again.
 * Check {@link LabCapabilities#delay()} first.
 *
 * @param delay added one-way delay (egress only with netem; both directions with a delay box), zero for none
 * @param lossPercent chance of dropping each packet, in each direction, 0 to 100 (resolution 0.1)
 */
public record Impairment(Duration delay, double lossPercent) {
    public Impairment {
        if (delay.isNegative() || lossPercent < 0 || lossPercent > 100) {
            throw new IllegalArgumentException(
                    "delay >= 0 and 0 <= loss <= 100 required: " + delay + ", " + lossPercent);
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
        // numgen values are 0..999, so "< 1000" is rejected: total loss is a plain drop.
        String rule = permille >= 1000 ? "drop" : "numgen random mod 1000 < " + permille + " drop";
        return "table netdev netlab_loss {\n"
                + " chain ingress {\n  type filter hook ingress device \"" + iface + "\" priority filter;\n"
                + "  " + rule + "\n }\n"
                + " chain egress {\n  type filter hook egress device \"" + iface + "\" priority filter;\n"
                + "  " + rule + "\n }\n"
                + "}\n";
    }

    /** Applies this impairment to {@code iface} in {@code ns}, replacing any earlier one. */
    void apply(Namespace ns, String iface) {
        clear(ns, iface);
        if (!delay.isZero() && !LabCapabilities.get().netem()) {
            if (!LabCapabilities.get().userspaceDelay()) {
                throw new NetLabException(
                        "delay needs tc netem (CONFIG_NET_SCH_NETEM) or socat and /dev/net/tun for a delay box; check LabCapabilities.delay()");
            }
            // Loss goes into the same box, applied per frame in each direction.
            DelayLink.splice(ns.lab(), ns.attachment(), delay, lossPercent);
            return;
        }
        if (!delay.isZero()) {
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
