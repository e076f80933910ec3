package dev.burrow.netlab;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What this machine lets the lab do, probed once per JVM in a throw-away namespace.
 *
 * @param missing why the lab cannot run at all (empty when it can): not root, no {@code ip netns}, no veth, no nftables NAT
 * @param netem whether {@code tc qdisc ... netem} works (needs {@code CONFIG_NET_SCH_NETEM}); delay needs it, loss does not
 * @param userspaceDelay whether a {@link DelayLink} can be built instead (socat installed, {@code /dev/net/tun} present)
 * @param ping whether a {@code ping} binary is installed (iputils-ping)
 * @param notes one line per probe, for reports and docs
 */
public record LabCapabilities(
        Optional<String> missing, boolean netem, boolean userspaceDelay, boolean ping, List<String> notes) {

    /** Whether links can be delayed at all (netem, or the userspace delay box). */
    public boolean delay() {
        return netem || userspaceDelay;
    }

    public boolean usable() {
        return missing.isEmpty();
    }

    private static volatile LabCapabilities cached;

    /** The capabilities of this machine, probed on first use. */
    public static LabCapabilities get() {
        LabCapabilities c = cached;
        if (c == null) {
            synchronized (LabCapabilities.class) {
                c = cached;
                if (c == null) {
                    c = probe();
                    cached = c;
                }
            }
        }
        return c;
    }

    private static LabCapabilities probe() {
        List<String> notes = new ArrayList<>();
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux")) {
            return unusable("not Linux (" + System.getProperty("os.name") + "): network namespaces need Linux", notes);
        }
        String uid = Cmd.run("id", "-u").stdout().strip();
        if (!"0".equals(uid)) {
            return unusable("not root (uid " + uid + "): creating network namespaces needs root", notes);
        }
        for (String tool : List.of("ip", "nft", "tc")) {
            if (Cmd.run("sh", "-c", "command -v " + tool).exitCode() != 0) {
                return unusable(
                        "'" + tool
                                + "' not installed (apt-get install -y iproute2 nftables, or scripts/install-test-deps.sh)",
                        notes);
            }
        }
        String ns = NetLab.NAMESPACE_PREFIX + ProcessHandle.current().pid() + "-probe";
        Cmd.run("ip", "netns", "del", ns); // a leftover from a crashed probe of a recycled pid
        Cmd.Result add = Cmd.run("ip", "netns", "add", ns);
        if (!add.ok()) {
            return unusable("'ip netns add' failed: " + add.stderr().strip(), notes);
        }
        try {
            Cmd.Result veth = Cmd.run("ip", "-n", ns, "link", "add", "p0", "type", "veth", "peer", "name", "p1");
            if (!veth.ok()) {
                return unusable("veth pairs unavailable: " + veth.stderr().strip(), notes);
            }
            notes.add("ip netns, veth: ok");
            Cmd.Result nat = Cmd.run(
                    List.of("ip", "netns", "exec", ns, "nft", "-f", "-"),
                    "table ip probe {\n chain post {\n  type nat hook postrouting priority srcnat;\n  oifname \"p0\" masquerade random\n }\n}\n",
                    Cmd.DEFAULT_TIMEOUT);
            if (!nat.ok()) {
                return unusable("nftables NAT unavailable: " + nat.stderr().strip(), notes);
            }
            notes.add("nftables masquerade: ok");
            Cmd.Result netem = Cmd.run(
                    "ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "p0", "root", "netem", "delay", "1ms");
            notes.add("tc netem: "
                    + (netem.ok() ? "ok" : "unavailable (" + netem.stderr().strip() + ")"));
            boolean userspaceDelay = Cmd.run("sh", "-c", "command -v socat").ok()
                    && java.nio.file.Files.exists(java.nio.file.Path.of("/dev/net/tun"));
            if (!netem.ok()) {
                notes.add("userspace delay box (socat + /dev/net/tun): " + (userspaceDelay ? "ok" : "unavailable"));
            }
            boolean ping = Cmd.run("sh", "-c", "command -v ping").ok();
            notes.add("ping: " + (ping ? "ok" : "not installed (iputils-ping)"));
            return new LabCapabilities(Optional.empty(), netem.ok(), userspaceDelay, ping, List.copyOf(notes));
        } finally {
            Cmd.run("ip", "netns", "del", ns);
        }
    }

    private static LabCapabilities unusable(String reason, List<String> notes) {
        notes.add(reason);
        return new LabCapabilities(Optional.of(reason), false, false, false, List.copyOf(notes));
    }
}
