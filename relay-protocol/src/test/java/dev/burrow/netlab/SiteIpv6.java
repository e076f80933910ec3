package dev.burrow.netlab;

/**
 * Whether a site of a dual-stack lab ({@link NetLab#createDualStack()}) has IPv6, and how its router
 * treats it. IPv6 is never NATed: LAN hosts get global addresses from the documentation prefix
 * (2001:db8:N::/64) and the internet routes that prefix to the site's router.
 */
public enum SiteIpv6 {
    /** No IPv6 at all on the site (IPv6 disabled in its namespaces), like an IPv4-only ISP. */
    NONE,
    /**
     * Routed IPv6 behind a stateful firewall, as home routers ship: outbound flows and their
     * replies pass, unsolicited inbound is dropped ({@link Ipv6Firewall}).
     */
    STATEFUL_FIREWALL,
    /** Routed IPv6 with no firewall: every LAN host is reachable from the internet. */
    OPEN
}
