package dev.burrow.agent.portmap;

/** Why a gateway's answer was not taken: each moves its own counter in {@link PortMapCounters}. */
public enum Refusal {
    /** Shorter or longer than the layout allows (or not a multiple of 4 for PCP). */
    SIZE,
    /** Another protocol version (a NAT-PMP-only gateway answers a PCP request with version 0). */
    VERSION,
    /** Not a response, or the response to another opcode. */
    OPCODE,
    /** The gateway said no: a non-zero result code. */
    RESULT_CODE,
    /** PCP: not the nonce of our request (an answer to someone else, or forged). */
    NONCE,
    /** Not the protocol or internal port we asked to map. */
    MAPPING,
    /** UPnP: an SSDP datagram from anywhere but the gateway (the only socket that is not connected). */
    SOURCE,
    /** A success that cannot be used: external port 0, zero lifetime, or an address that is not IPv4. */
    UNUSABLE
}
