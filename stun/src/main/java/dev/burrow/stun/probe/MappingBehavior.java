package dev.burrow.stun.probe;

/** How a NAT picks the public endpoint for a local socket (RFC 4787 §4.1, RFC 5780 §4.3). */
public enum MappingBehavior {
    /** The same public endpoint for every destination: good for hole punching. */
    ENDPOINT_INDEPENDENT("endpoint-independent"),
    /** A new public endpoint per destination IP. */
    ADDRESS_DEPENDENT("address-dependent"),
    /** A new public endpoint per destination IP and port ("symmetric NAT"). */
    ADDRESS_AND_PORT_DEPENDENT("address-and-port-dependent"),
    /** The endpoint varies with the destination, but the servers given cannot tell address from address-and-port. */
    DEPENDENT("dependent (address or address-and-port)"),
    /** Fewer than two answers to compare. */
    UNKNOWN("unknown");

    private final String label;

    MappingBehavior(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
