package dev.burrow.netlab;

import java.time.Duration;
import java.util.List;

/**
 * Delay (and loss) on a lab link without netem: the link is cut at its bridge port and a "delay box"
 * namespace is spliced in. In the box each side of the cut is bridged to a TAP device; socat moves
 * the TAP frames to and from {@link DelayShuttle} over loopback, which holds each frame for the delay.
 * It is a transparent layer-2 hop: no addresses, no routing, no conntrack, ARP delayed like the rest.
 *
 * <pre>
 *   host eth0 ==veth== [box: down0 -brA- tapA] -socat- shuttle -socat- [tapB -brB- up0] ==veth== bridge
 * </pre>
 *
 * Costs a JVM and two socat processes per link; only used when {@link LabCapabilities#netem()} is false.
 */
public final class DelayLink {
    /** Loopback ports inside the box; the box has its own loopback, so they never collide. */
    private static final int SHUTTLE_PORT = 9000;

    private static final int SIDE_A_PORT = 9001;
    private static final int SIDE_B_PORT = 9002;
    private static final Duration READY = Duration.ofSeconds(20);

    private final Namespace box;

    private DelayLink(Namespace box) {
        this.box = box;
    }

    public Namespace box() {
        return box;
    }

    /**
     * Splices a delay box into {@code link}: frames crossing it in either direction are delayed by
     * {@code oneWay} and dropped with probability {@code lossPercent}.
     */
    static DelayLink splice(NetLab lab, Attachment link, Duration oneWay, double lossPercent) {
        Namespace box = lab.register(new Namespace(lab, link.owner().label() + "-dly"));
        lab.createNamespace(box, false);
        Namespace bridgeNs = link.bridgeNamespace();
        // Cut: take the bridge-side veth end out of the bridge and move it into the box.
        bridgeNs.exec("ip", "link", "set", link.port(), "nomaster");
        bridgeNs.exec("ip", "link", "set", link.port(), "netns", box.name());
        box.exec("ip", "link", "set", link.port(), "name", "down0");
        // Reconnect: a new veth from the box back to the same bridge.
        String newPort = link.port() + "d";
        NetLab.cmd(
                "ip",
                "link",
                "add",
                "up0",
                "netns",
                box.name(),
                "type",
                "veth",
                "peer",
                "name",
                newPort,
                "netns",
                bridgeNs.name());
        bridgeNs.exec("ip", "link", "set", newPort, "master", link.bridge(), "up");
        for (String[] side : new String[][] {{"brA", "down0"}, {"brB", "up0"}}) {
            box.exec("ip", "link", "add", side[0], "type", "bridge");
            box.exec("ip", "link", "set", side[1], "master", side[0], "up");
            box.exec("ip", "link", "set", side[0], "up");
        }
        LabProcess shuttle = box.startJava(
                "shuttle",
                DelayShuttle.class.getName(),
                String.valueOf(SHUTTLE_PORT),
                String.valueOf(SIDE_A_PORT),
                String.valueOf(SIDE_B_PORT),
                String.valueOf(oneWay.toMillis()),
                String.valueOf(Math.round(lossPercent * 10)));
        shuttle.awaitOutput("^READY", READY);
        for (String[] side : new String[][] {
            {"tapA", String.valueOf(SIDE_A_PORT), "brA"}, {"tapB", String.valueOf(SIDE_B_PORT), "brB"}
        }) {
            // UDP-DATAGRAM, not UDP: an unconnected socket, so a stray ICMP error cannot kill socat.
            box.start(
                    "socat-" + side[0],
                    List.of(
                            "socat",
                            "-b",
                            "9000",
                            "TUN,tun-type=tap,iff-no-pi,iff-up,tun-name=" + side[0],
                            "UDP-DATAGRAM:127.0.0.1:" + SHUTTLE_PORT + ",bind=127.0.0.1:" + side[1]));
        }
        for (String[] side : new String[][] {{"tapA", "brA"}, {"tapB", "brB"}}) {
            long deadline = System.nanoTime() + READY.toNanos();
            while (!box.tryExec("ip", "link", "show", side[0]).ok()) {
                if (System.nanoTime() > deadline) {
                    throw new NetLabException("socat did not create " + side[0] + " in " + box.name());
                }
                LabProcess.sleep(Duration.ofMillis(50));
            }
            box.exec("ip", "link", "set", side[0], "master", side[1], "up");
        }
        link.owner().recordAttachment(new Attachment(link.owner(), box, "brB", "up0"));
        return new DelayLink(box);
    }
}
