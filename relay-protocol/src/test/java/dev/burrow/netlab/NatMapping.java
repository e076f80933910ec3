package dev.burrow.netlab;

/**
 * How the NAT picks the public port for a new flow (RFC 4787 section 4.1), and the nftables
 * statement that makes a Linux router behave that way. Measured on the lab kernel, see docs/natlab.md.
 */
public enum NatMapping {
    /**
     * Endpoint-independent and port-preserving: plain {@code masquerade}. Linux keeps the source port
     * when the resulting tuple is free, and reuses an existing mapping of the same internal
     * address:port for new destinations (nf_nat's find_appropriate_src), so every destination sees the
     * same public ip:port. A port already used by another LAN host to the same destination is the
     * exception: that flow gets a different port.
     */
    ENDPOINT_INDEPENDENT("masquerade"),

    /**
     * Endpoint-independent but <em>not</em> port-preserving: masquerade into 20000-29999, a range the
     * lab's clients never bind in, so the public port always differs from the private one while
     * staying the same for every destination.
     */
    ENDPOINT_INDEPENDENT_REMAPPED("meta l4proto { tcp, udp } masquerade to :" + NatMapping.REMAP_LOW + "-"
            + NatMapping.REMAP_HIGH + "\n  masquerade"),

    /**
     * Address-and-port-dependent ("symmetric"): {@code masquerade random}. The random flag skips the
     * reuse of existing mappings, so each new destination ip:port gets its own randomly chosen port.
     */
    ADDRESS_AND_PORT_DEPENDENT("masquerade random"),

    /** Address-and-port-dependent with {@code fully-random}: measured to behave like {@link #ADDRESS_AND_PORT_DEPENDENT} on the lab kernel. */
    ADDRESS_AND_PORT_DEPENDENT_FULLY_RANDOM("masquerade fully-random");

    /** Remapped public port range; lab clients bind below it or use ephemeral ports (32768+). */
    public static final int REMAP_LOW = 20000;

    public static final int REMAP_HIGH = 29999;

    private final String statements;

    NatMapping(String statements) {
        this.statements = statements;
    }

    /** The nftables statement(s) for the postrouting NAT chain, one per line, before the oifname match is added. */
    String statements() {
        return statements;
    }

    public boolean endpointIndependent() {
        return this == ENDPOINT_INDEPENDENT || this == ENDPOINT_INDEPENDENT_REMAPPED;
    }
}
