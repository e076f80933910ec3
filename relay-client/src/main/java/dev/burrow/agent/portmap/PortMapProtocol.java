package dev.burrow.agent.portmap;

import java.util.Locale;

/** The port-mapping protocols, in the order they are tried. */
public enum PortMapProtocol {
    /** RFC 6887: the newest, the only one with a nonce tying answers to requests. */
    PCP,
    /** RFC 6886: PCP's predecessor, still what many home routers speak. */
    NAT_PMP,
    /** UPnP IGD: SSDP discovery, then SOAP over HTTP; the most widespread, the heaviest. */
    UPNP;

    /** {@code pcp}, {@code nat-pmp}: how logs and status show it. */
    public String label() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
