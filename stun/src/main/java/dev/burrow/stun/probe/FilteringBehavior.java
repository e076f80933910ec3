package dev.burrow.stun.probe;

/** Which inbound packets a NAT lets through to a mapping (RFC 4787 §5, RFC 5780 §4.4). */
public enum FilteringBehavior {
    /** Anyone may send to the mapping. */
    ENDPOINT_INDEPENDENT("endpoint-independent"),
    /** Only IPs the socket has sent to. */
    ADDRESS_DEPENDENT("address-dependent"),
    /** Only IP:port pairs the socket has sent to. */
    ADDRESS_AND_PORT_DEPENDENT("address-and-port-dependent"),
    /** Not tested: needs a server that supports RFC 5780 CHANGE-REQUEST. */
    UNKNOWN("not tested (needs an RFC 5780 server)");

    private final String label;

    FilteringBehavior(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
