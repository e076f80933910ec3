package dev.burrow.netlab;

/**
 * Which inbound packets to a mapped public port the NAT lets through (RFC 4787 section 5).
 * Linux conntrack alone gives {@link #ADDRESS_AND_PORT_DEPENDENT}; the two looser ones are built
 * with an nftables map learned from outgoing packets and a DNAT that consults it.
 */
public enum NatFiltering {
    /** "Full cone": anyone may send to a mapped port once the internal host has sent anything out of it. */
    ENDPOINT_INDEPENDENT,
    /** "Restricted cone": only addresses the internal host has sent to, from any port. */
    ADDRESS_DEPENDENT,
    /** "Port-restricted": only the exact ip:port the internal host has sent to (conntrack's own behaviour). */
    ADDRESS_AND_PORT_DEPENDENT
}
