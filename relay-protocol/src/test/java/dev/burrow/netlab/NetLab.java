package dev.burrow.netlab;

import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A small internet built from network namespaces, for tests that need real NATs.
 *
 * <pre>
 *                         internet namespace "inet": bridge br0
 *                         203.0.113.1/24 + 198.51.100.1/24, forwarding on
 *        +-----------------------+--------------------------+
 *   PublicHost "relay"     NatRouter "a-gw"            NatRouter "b-gw"
 *   eth0 203.0.113.100     wan0 203.0.113.10           wan0 203.0.113.11
 *   (+198.51.100.100)      lan0 10.1.0.1/24 (nft NAT)  lan0 10.2.0.1/24
 *                               |                           |
 *                          LanHost "a" 10.1.0.10       LanHost "b" 10.2.0.10
 * </pre>
 *
 * Only documentation address space is used (RFC 5737) and nothing is attached to the root namespace,
 * so no packet can leave the machine. Every namespace is named {@code burrow-lab-<pid>-<run>-<label>}:
 * parallel runs never collide, and {@link #sweepStale()} can tell a crashed run's namespaces (owner
 * pid gone) from a live one's. {@link #close()} (also run by a shutdown hook) kills every process
 * started in the lab and deletes every namespace, and {@link #leftovers()} proves it.
 *
 * <p>Typical use, in a test class annotated {@link RequiresNetLab}:
 * <pre>{@code
 * try (NetLab lab = NetLab.create()) {
 *     PublicHost relay = lab.addPublicHost("relay");
 *     LanHost a = lab.addSite("a", NatBehaviour.EIM).addHost("a");
 *     LanHost b = lab.addSite("b", NatBehaviour.EIM).addHost("b");
 *     LabProcess server = relay.startBurrow("relay", "relay", "--listen", relay.ip() + ":7000");
 *     ...
 * }
 * }</pre>
 */
public final class NetLab implements AutoCloseable {
    /** Every lab namespace starts with this; {@link #sweepStale()} only ever touches these. */
    public static final String NAMESPACE_PREFIX = "burrow-lab-";
    /** The internet router namespace's label. */
    public static final String INTERNET = "inet";
    /** Labels become part of namespace names: short, lowercase, no separators that confuse parsing. */
    private static final Pattern LABEL = Pattern.compile("[a-z][a-z0-9-]{0,23}");
    /** {@code burrow-lab-<pid>-<run>-<label>}. */
    private static final Pattern NAME =
            Pattern.compile(Pattern.quote(NAMESPACE_PREFIX) + "(\\d+)-([0-9a-f]+|probe)(?:-.*)?");

    private static final Logger log = LoggerFactory.getLogger(NetLab.class);
    /** Run ids: unique within the JVM (a counter), the pid makes them unique on the machine. */
    private static final AtomicInteger RUNS =
            new AtomicInteger(ThreadLocalRandom.current().nextInt(1 << 16));

    /** The internet segment's IPv6 prefix (dual-stack labs): 2001:db8::/64, documentation space (RFC 3849). */
    public static final String IPV6_INTERNET_PREFIX = "2001:db8::";

    private final String runId;
    private final boolean ipv6;
    private final String prefix;
    private final Path workDir;
    private final Namespace internet;
    private final Map<String, Namespace> namespaces = new LinkedHashMap<>();
    private final List<LabProcess> processes = Collections.synchronizedList(new ArrayList<>());
    private final AtomicInteger serial = new AtomicInteger();
    private final Thread shutdownHook;
    private int publicHosts;
    private int secondaryAddresses;
    private int sites;
    private int internetPorts;
    private boolean closed;

    private NetLab(Path workRoot, boolean ipv6) {
        this.ipv6 = ipv6;
        this.runId = HexFormat.of().toHexDigits((short) RUNS.getAndIncrement());
        this.prefix = NAMESPACE_PREFIX + ProcessHandle.current().pid() + "-" + runId + "-";
        this.workDir = workRoot.resolve(ProcessHandle.current().pid() + "-" + runId);
        try {
            Files.createDirectories(workDir);
        } catch (IOException e) {
            throw new NetLabException("cannot create " + workDir, e);
        }
        this.shutdownHook = new Thread(this::closeQuietly, "netlab-cleanup-" + runId);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        this.internet = register(new Namespace(this, INTERNET));
        try {
            createNamespace(internet, ipv6);
            internet.exec("ip", "link", "add", "br0", "type", "bridge");
            internet.exec("ip", "addr", "add", "203.0.113.1/24", "dev", "br0");
            internet.exec("ip", "addr", "add", "198.51.100.1/24", "dev", "br0");
            if (ipv6) {
                internet.exec("ip", "addr", "add", IPV6_INTERNET_PREFIX + "1/64", "dev", "br0", "nodad");
                internet.sysctl("net.ipv6.conf.all.forwarding", "1");
            }
            internet.exec("ip", "link", "set", "br0", "up");
            internet.sysctl("net.ipv4.ip_forward", "1");
        } catch (RuntimeException e) {
            closeQuietly();
            throw e;
        }
    }

    /**
     * Creates a lab with its internet namespace, after sweeping namespaces left by crashed runs.
     * Throws {@link NetLabException} when the machine cannot; tests use {@link RequiresNetLab} first.
     */
    public static NetLab create() {
        LabCapabilities caps = LabCapabilities.get();
        if (!caps.usable()) {
            throw new NetLabException("NAT lab unavailable: " + caps.missing().orElseThrow());
        }
        sweepStale();
        return new NetLab(
                Path.of(System.getProperty("netlab.dir", "target/netlab")).toAbsolutePath(), false);
    }

    /**
     * Creates a lab where IPv6 can be used besides IPv4 (see docs/natlab.md, "IPv6"): the internet
     * bridge also has 2001:db8::1/64 and routes IPv6, public hosts can take an IPv6 address ({@link
     * PublicHost#addIpv6Address()}), and sites added with {@link SiteIpv6#STATEFUL_FIREWALL} or
     * {@link SiteIpv6#OPEN} get a routed 2001:db8:N::/64 LAN. Sites added without (the plain {@link
     * #addSite(String, NatBehaviour)}) stay IPv4 only, with IPv6 disabled as in {@link #create()}.
     * Addresses skip duplicate address detection, so they are usable at once.
     */
    public static NetLab createDualStack() {
        LabCapabilities caps = LabCapabilities.get();
        if (!caps.usable()) {
            throw new NetLabException("NAT lab unavailable: " + caps.missing().orElseThrow());
        }
        sweepStale();
        return new NetLab(
                Path.of(System.getProperty("netlab.dir", "target/netlab")).toAbsolutePath(), true);
    }

    /** Whether this lab was created with IPv6 ({@link #createDualStack()}). */
    public boolean ipv6() {
        return ipv6;
    }

    // ---------------------------------------------------------------- topology

    /** Adds a host on the public internet at 203.0.113.(100+n), default route via the internet router. */
    public synchronized PublicHost addPublicHost(String label) {
        InetAddress address = ipv4(203, 0, 113, 100 + publicHosts++);
        PublicHost host = register(new PublicHost(this, label, address, 100 + publicHosts - 1));
        createNamespace(host, ipv6);
        attachToInternet(host, Host.IFACE, address);
        return host;
    }

    /**
     * Adds a site: a NAT router with public address 203.0.113.(10+n) and LAN 10.(n+1).0.0/24, configured
     * with {@code behaviour}. Add hosts to it with {@link NatRouter#addHost}. IPv4 only.
     */
    public synchronized NatRouter addSite(String label, NatBehaviour behaviour) {
        return addSite(label, behaviour, SiteIpv6.NONE);
    }

    /**
     * Adds a site as {@link #addSite(String, NatBehaviour)} and, unless {@code v6} is {@link
     * SiteIpv6#NONE} (which needs a {@link #createDualStack() dual-stack lab}), routed IPv6: the
     * router's {@code wan0} gets 2001:db8::(9+n) (the same digits as its IPv4 address's last
     * octet), its LAN 2001:db8:n::/64 with the router at ::1 and hosts at ::10, ::11, ...; the
     * internet routes the LAN prefix to the router. No NAT for IPv6; with {@link
     * SiteIpv6#STATEFUL_FIREWALL} the router runs {@link Ipv6Firewall}.
     */
    public synchronized NatRouter addSite(String label, NatBehaviour behaviour, SiteIpv6 v6) {
        if (v6 != SiteIpv6.NONE && !ipv6) {
            throw new NetLabException("site '" + label + "' wants IPv6: create the lab with NetLab.createDualStack()");
        }
        int index = ++sites;
        if (index > 80) {
            throw new NetLabException("too many sites");
        }
        NatRouter router = register(new NatRouter(this, label, index, ipv4(203, 0, 113, 9 + index), v6));
        createNamespace(router, v6 != SiteIpv6.NONE);
        attachToInternet(router, NatRouter.WAN, router.publicAddress());
        router.exec("ip", "link", "add", NatRouter.LAN_BRIDGE, "type", "bridge");
        router.exec("ip", "addr", "add", router.lanGateway().getHostAddress() + "/24", "dev", NatRouter.LAN_BRIDGE);
        router.exec("ip", "link", "set", NatRouter.LAN_BRIDGE, "up");
        router.sysctl("net.ipv4.ip_forward", "1");
        router.setBehaviour(behaviour);
        if (v6 != SiteIpv6.NONE) {
            String wan6 = router.ipv6PublicAddress().getHostAddress();
            router.exec("ip", "addr", "add", wan6 + "/64", "dev", NatRouter.WAN, "nodad");
            router.exec(
                    "ip",
                    "addr",
                    "add",
                    router.ipv6LanGateway().getHostAddress() + "/64",
                    "dev",
                    NatRouter.LAN_BRIDGE,
                    "nodad");
            router.exec("ip", "-6", "route", "add", "default", "via", IPV6_INTERNET_PREFIX + "1");
            router.sysctl("net.ipv6.conf.all.forwarding", "1");
            if (v6 == SiteIpv6.STATEFUL_FIREWALL) {
                router.nft(Ipv6Firewall.ruleset(NatRouter.WAN));
            }
            internet.exec("ip", "-6", "route", "add", router.ipv6LanPrefix(), "via", wan6);
        }
        return router;
    }

    /**
     * Adds a site behind another: a NAT router whose WAN ({@code wan0}) is on {@code upstream}'s LAN
     * (address 10.M.0.x from it, default route via it), with its own LAN 10.(n+1).0.0/24. With an
     * endpoint-independent upstream this is a carrier-grade NAT in front of a home router (double
     * NAT): the internet sees the upstream's public address, with a port the upstream chose for
     * the home router's mapping.
     */
    public synchronized NatRouter addSiteBehind(NatRouter upstream, String label, NatBehaviour behaviour) {
        int index = ++sites;
        if (index > 80) {
            throw new NetLabException("too many sites");
        }
        InetAddress wan = upstream.allocateLanAddress();
        NatRouter router = register(new NatRouter(this, label, index, wan, SiteIpv6.NONE));
        createNamespace(router, false);
        upstream.plugIn(router, NatRouter.WAN, wan);
        router.exec("ip", "link", "add", NatRouter.LAN_BRIDGE, "type", "bridge");
        router.exec("ip", "addr", "add", router.lanGateway().getHostAddress() + "/24", "dev", NatRouter.LAN_BRIDGE);
        router.exec("ip", "link", "set", NatRouter.LAN_BRIDGE, "up");
        router.sysctl("net.ipv4.ip_forward", "1");
        router.setBehaviour(behaviour);
        return router;
    }

    /** Shortcut: a site with one host; the router is labelled {@code <label>-gw}, the host {@code <label>}. */
    public LanHost addHostBehindNat(String label, NatBehaviour behaviour) {
        return addSite(label + "-gw", behaviour).addHost(label);
    }

    /** Shortcut: a site with one host and IPv6 as {@code v6} says (dual-stack labs). */
    public LanHost addHostBehindNat(String label, NatBehaviour behaviour, SiteIpv6 v6) {
        return addSite(label + "-gw", behaviour, v6).addHost(label);
    }

    private void attachToInternet(Namespace ns, String iface, InetAddress address) {
        String port = "p" + internetPorts++;
        cmd(
                "ip",
                "link",
                "add",
                iface,
                "netns",
                ns.name(),
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                internet.name());
        internet.exec("ip", "link", "set", port, "master", "br0", "up");
        ns.recordAttachment(new Attachment(ns, internet, "br0", port));
        ns.exec("ip", "addr", "add", address.getHostAddress() + "/24", "dev", iface);
        ns.exec("ip", "link", "set", iface, "up");
        ns.exec("ip", "route", "add", "default", "via", "203.0.113.1");
    }

    synchronized InetAddress allocateSecondaryPublic() {
        return ipv4(198, 51, 100, 100 + secondaryAddresses++);
    }

    synchronized <T extends Namespace> T register(T ns) {
        if (closed) {
            throw new NetLabException("lab closed");
        }
        if (!LABEL.matcher(ns.label()).matches()) {
            throw new NetLabException("bad label '" + ns.label() + "': want " + LABEL.pattern());
        }
        if (namespaces.putIfAbsent(ns.label(), ns) != null) {
            throw new NetLabException("label '" + ns.label() + "' already used in this lab");
        }
        return ns;
    }

    /**
     * Creates the namespace. Without {@code withIpv6} IPv6 is disabled in it (no DAD or router
     * solicitation chatter in captures; what every IPv4-only lab gets). With it, IPv6 is on but
     * quiet and immediate: no duplicate address detection (addresses, link-local ones included, are
     * usable at once instead of tentative for a second or more), no router advertisements accepted
     * or solicited, no autoconfiguration; addresses and routes are all set by the lab. The {@code
     * default} settings are what interfaces created afterwards inherit, so they are set first.
     */
    void createNamespace(Namespace ns, boolean withIpv6) {
        cmd("ip", "netns", "add", ns.name());
        if (!withIpv6) {
            ns.tryExec("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1");
            ns.tryExec("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
        } else {
            for (String conf : List.of("all", "default")) {
                ns.sysctl("net.ipv6.conf." + conf + ".accept_dad", "0");
                ns.sysctl("net.ipv6.conf." + conf + ".dad_transmits", "0");
                ns.sysctl("net.ipv6.conf." + conf + ".accept_ra", "0");
                ns.sysctl("net.ipv6.conf." + conf + ".autoconf", "0");
                ns.sysctl("net.ipv6.conf." + conf + ".router_solicitations", "0");
            }
        }
        ns.exec("ip", "link", "set", "lo", "up");
    }

    // ---------------------------------------------------------------- processes

    LabProcess startProcess(Namespace ns, String label, List<String> command) {
        Path logFile = workDir.resolve(ns.label() + "-" + label + "-" + nextSerial() + ".log");
        ProcessBuilder pb =
                new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(logFile.toFile());
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        // Tests turn port mapping off so nothing asks the machine's real gateway (pom.xml); inside
        // the lab the default gateway is a lab router, so lab processes keep the agent's default.
        pb.environment().remove("BURROW_PORTMAP");
        synchronized (this) {
            if (closed) {
                throw new NetLabException("lab closed");
            }
            try {
                LabProcess p = new LabProcess(label, ns.name(), command, pb.start(), logFile);
                processes.add(p);
                log.debug("started {}: {}", p, String.join(" ", command));
                return p;
            } catch (IOException e) {
                throw new NetLabException("cannot start " + command, e);
            }
        }
    }

    int nextSerial() {
        return serial.incrementAndGet();
    }

    // ---------------------------------------------------------------- accessors

    /** The run's namespace name prefix, {@code burrow-lab-<pid>-<run>-}. */
    public String prefix() {
        return prefix;
    }

    /** Where config files and process logs of this run go ({@code target/netlab/<pid>-<run>}); kept after close for debugging. */
    public Path workDir() {
        return workDir;
    }

    public Namespace internet() {
        return internet;
    }

    public synchronized List<Namespace> namespaces() {
        return List.copyOf(namespaces.values());
    }

    public List<LabProcess> processes() {
        return List.copyOf(processes);
    }

    // ---------------------------------------------------------------- cleanup

    /**
     * Kills every process started in the lab (and anything else found inside its namespaces), then
     * deletes the namespaces; their veth pairs and bridges go with them. Idempotent.
     */
    @Override
    public void close() {
        List<String> problems = closeQuietly();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook is running or ran.
        }
        if (!problems.isEmpty()) {
            throw new NetLabException("lab cleanup incomplete: " + problems);
        }
    }

    private synchronized List<String> closeQuietly() {
        if (closed) {
            return List.of();
        }
        closed = true;
        List<LabProcess> started = new ArrayList<>(processes);
        Collections.reverse(started);
        started.parallelStream().forEach(LabProcess::close);
        List<String> problems = new ArrayList<>();
        List<Namespace> all = new ArrayList<>(namespaces.values());
        Collections.reverse(all);
        for (Namespace ns : all) {
            killAllIn(ns.name());
            Cmd.Result del = Cmd.run("ip", "netns", "del", ns.name());
            if (!del.ok() && namespaceNames().contains(ns.name())) {
                problems.add(ns.name() + ": " + del.stderr().strip());
            }
        }
        return problems;
    }

    /** What this run left behind: namespaces with its prefix and processes it started that are still alive. Empty after {@link #close()}. */
    public List<String> leftovers() {
        List<String> left = new ArrayList<>();
        for (String n : namespaceNames()) {
            if (n.startsWith(prefix)) {
                left.add("namespace " + n);
            }
        }
        for (LabProcess p : processes) {
            if (p.isAlive()) {
                left.add("process " + p);
            }
        }
        return left;
    }

    /**
     * Deletes {@code burrow-lab-*} namespaces of runs that are gone: the owner pid in the name is dead,
     * or is alive but started after the namespace was created (a recycled pid). Processes still inside
     * are killed first. Live runs, including parallel ones, are left alone. Returns the names deleted.
     */
    public static List<String> sweepStale() {
        List<String> deleted = new ArrayList<>();
        for (String n : namespaceNames()) {
            if (isStale(n)) {
                killAllIn(n);
                if (Cmd.run("ip", "netns", "del", n).ok()) {
                    deleted.add(n);
                }
            }
        }
        if (!deleted.isEmpty()) {
            log.info("removed stale lab namespaces: {}", deleted);
        }
        return deleted;
    }

    static boolean isStale(String namespace) {
        Matcher m = NAME.matcher(namespace);
        if (!m.matches()) {
            return false; // not ours
        }
        long pid = Long.parseLong(m.group(1));
        Optional<ProcessHandle> owner = ProcessHandle.of(pid);
        if (owner.isEmpty() || !owner.get().isAlive()) {
            return true;
        }
        Optional<Instant> ownerStart = owner.get().info().startInstant();
        Optional<Instant> created = creationTime(namespace);
        // A namespace older than its "owner" belongs to an earlier process that had the same pid.
        return ownerStart.isPresent()
                && created.isPresent()
                && created.get().isBefore(ownerStart.get().minusSeconds(1));
    }

    private static Optional<Instant> creationTime(String namespace) {
        try {
            FileTime t = Files.getLastModifiedTime(Path.of("/run/netns", namespace));
            return Optional.of(t.toInstant());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** Names of all named network namespaces on the machine. */
    public static List<String> namespaceNames() {
        Cmd.Result r = Cmd.run("ip", "netns", "list");
        List<String> names = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            String n = line.strip();
            if (!n.isEmpty()) {
                names.add(n.split("\\s+")[0]); // "name (id: 3)"
            }
        }
        return names;
    }

    static List<Long> namespacePids(String namespace) {
        Cmd.Result r = Cmd.run("ip", "netns", "pids", namespace);
        List<Long> pids = new ArrayList<>();
        for (String line : r.stdout().split("\\s+")) {
            if (!line.isBlank()) {
                pids.add(Long.parseLong(line.strip()));
            }
        }
        return pids;
    }

    private static void killAllIn(String namespace) {
        for (Long pid : namespacePids(namespace)) {
            ProcessHandle.of(pid).ifPresent(h -> LabProcess.killTree(h, Duration.ofSeconds(1)));
        }
    }

    // ---------------------------------------------------------------- helpers

    static Cmd.Result cmd(String... command) {
        return Cmd.run(command).orThrow();
    }

    /** An IPv6 address from its text (only ever the lab's own literals). */
    static InetAddress ipv6(String text) {
        try {
            return InetAddress.getByName(text);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    static InetAddress ipv4(int a, int b, int c, int d) {
        try {
            return InetAddress.getByAddress(new byte[] {(byte) a, (byte) b, (byte) c, (byte) d});
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(e);
        }
    }

    @Override
    public String toString() {
        return "NetLab[" + prefix + "*]";
    }
}
