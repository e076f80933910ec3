package dev.burrow.protocol.frame;

/** Size limits of the relay protocol, each with its reason. All are checked before allocating. */
public final class FrameLimits {
    private FrameLimits() {}

    /** Type byte plus the u32 length. */
    public static final int HEADER_LENGTH = 5;

    /**
     * Largest datagram payload: 64 KiB, as DERP and iroh. Datagrams carry signalling and
     * hole-punch messages, not bulk data (bulk goes through circuits), so this never limits throughput.
     */
    public static final int MAX_DATAGRAM_PAYLOAD = 64 * 1024;

    /**
     * Largest CLIENT_AUTH payload: fixed fields plus a certificate chain. A node certificate with an
     * Ed25519 key is about 400 bytes; 16 KiB leaves room for a chain of intermediates while keeping
     * pre-authentication memory per connection small (DERP caps the pre-auth frame at 256 KiB; we
     * need far less).
     */
    public static final int MAX_AUTH_PAYLOAD = 16 * 1024;

    /** Largest certificate chain carried in CLIENT_AUTH (a chain deeper than this is not a node chain). */
    public static final int MAX_CHAIN_CERTIFICATES = 4;

    /** Shortest PING/PONG data: 8 bytes, enough for a sequence number or a timestamp (as DERP). */
    public static final int MIN_PING_DATA = 8;

    /** Longest PING/PONG data: 1000 bytes (as DERP); larger pings are an amplification tool. */
    public static final int MAX_PING_DATA = 1000;

    /** Longest str8 field in bytes: names, reasons and addresses are short by nature. */
    public static final int MAX_SHORT_STRING = 255;

    /** Longest service name in characters (a DNS label's limit): [a-z0-9][a-z0-9._-]*. */
    public static final int MAX_SERVICE_NAME = 63;

    /**
     * Most source prefixes in one PUBLISH: an allow list is a handful of networks (an office, a CI
     * provider's ranges); 32 keeps the frame under 1 KiB and the per-accept check a short loop.
     */
    public static final int MAX_INGRESS_SOURCES = 32;

    /**
     * Most keys in one NAME_RESULT. One name normally maps to one node; a few more cover a node
     * moving between keys (re-enrolment) and let a dialer see that a name is ambiguous. The relay
     * answers with at most this many, so a crowd sharing a name cannot make an answer large.
     */
    public static final int MAX_NAME_RESULT_KEYS = 8;

    /** Longest node name in a LOOKUP_NAME (one DNS label, as {@code CertificateProfile#MAX_NAME_LENGTH}). */
    public static final int MAX_NODE_NAME = 63;

    /**
     * Largest payload of a frame type this build does not know. Such frames are skipped without
     * buffering; the limit still bounds how long a peer can keep us skipping per frame.
     */
    public static final int MAX_UNKNOWN_PAYLOAD = FrameType.SEND_DATAGRAM.maxPayload();
}
