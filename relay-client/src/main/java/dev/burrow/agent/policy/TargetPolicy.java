package dev.burrow.agent.policy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The one check every local connection of an exposed service passes before {@code connect()}.
 *
 * <p>A service has exactly one configured target. Its addresses are resolved <em>once</em>, when
 * the configuration is loaded, and pinned (canonical form, see {@link Addresses}). At connect time
 * the host is resolved again (so a moved host is noticed) and an address is used only when its
 * canonical form is one of the pinned ones; the {@link InetSocketAddress} returned is built from
 * that resolved {@link InetAddress}, so nothing is resolved between this check and
 * {@code connect()} (no DNS rebinding window). A name that now resolves elsewhere
 * (169.254.169.254, another loopback address, ...) is refused. Unspecified, "this network",
 * multicast and broadcast addresses are refused even when configured: they are never a host.
 */
public final class TargetPolicy {

    /** Name resolution, injectable so tests can simulate DNS rebinding. */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;

        Resolver SYSTEM = InetAddress::getAllByName;
    }

    /** The outcome of {@link #decide()} or {@link #check}. */
    public sealed interface Decision {
        /** Connect to exactly this address. */
        record Allowed(InetSocketAddress connectTo) implements Decision {}

        /** Refused; the reason is safe to show the dialer. */
        record Refused(String reason, boolean unreachable) implements Decision {}
    }

    private final TargetSpec spec;
    private final Set<InetAddress> pinned;
    private final Resolver resolver;

    private TargetPolicy(TargetSpec spec, Set<InetAddress> pinned, Resolver resolver) {
        this.spec = spec;
        this.pinned = Set.copyOf(pinned);
        this.resolver = resolver;
    }

    /**
     * Resolves and pins the target's addresses.
     *
     * @throws IllegalArgumentException when the target cannot be resolved or is never a valid host
     */
    public static TargetPolicy of(TargetSpec spec, Resolver resolver) {
        InetAddress[] all;
        try {
            all = resolver.resolve(spec.host());
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("target " + spec + ": cannot resolve " + spec.host());
        }
        Set<InetAddress> pinned = new LinkedHashSet<>();
        for (InetAddress a : all) {
            if (Addresses.isNeverATarget(a)) {
                throw new IllegalArgumentException("target " + spec + " resolves to " + a.getHostAddress()
                        + ", which is not a host address (unspecified, multicast or broadcast)");
            }
            pinned.add(Addresses.canonical(a));
        }
        if (pinned.isEmpty()) {
            throw new IllegalArgumentException("target " + spec + " resolves to no address");
        }
        return new TargetPolicy(spec, pinned, resolver);
    }

    public static TargetPolicy of(TargetSpec spec) {
        return of(spec, Resolver.SYSTEM);
    }

    public TargetSpec spec() {
        return spec;
    }

    /** The pinned canonical addresses. */
    public List<InetAddress> pinnedAddresses() {
        return List.copyOf(pinned);
    }

    /** Resolves the target once and returns the address to connect to, or why not. */
    public Decision decide() {
        InetAddress[] now;
        try {
            now = resolver.resolve(spec.host());
        } catch (UnknownHostException e) {
            return new Decision.Refused("target host does not resolve", true);
        }
        Decision last = new Decision.Refused("target resolves to no address", true);
        for (InetAddress a : now) {
            last = check(new InetSocketAddress(a, spec.port()));
            if (last instanceof Decision.Allowed) {
                return last;
            }
        }
        return last;
    }

    /**
     * Checks one resolved address: allowed only when its canonical form is a pinned address and the
     * port is the configured one. The address connected to is the canonical one.
     */
    public Decision check(InetSocketAddress candidate) {
        if (candidate.isUnresolved()) {
            return new Decision.Refused("target address is unresolved", false);
        }
        InetAddress canonical = Addresses.canonical(candidate.getAddress());
        if (Addresses.isNeverATarget(canonical)) {
            return new Decision.Refused("target address is not a host address", false);
        }
        if (candidate.getPort() != spec.port()) {
            return new Decision.Refused("target port is not the configured one", false);
        }
        if (!pinned.contains(canonical)) {
            return new Decision.Refused("target now resolves to an address that was not configured", false);
        }
        return new Decision.Allowed(new InetSocketAddress(canonical, spec.port()));
    }
}
