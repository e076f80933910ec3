package dev.burrow.agent.disco;

/** Every disco size and counter limit, with its reason. */
public final class DiscoLimits {
    private DiscoLimits() {}

    /** Magic at the start of every disco packet. Its first byte 0x8B is neither STUN (0-3, RFC 7983) nor QUIC (fixed bit 0x40 is clear). */
    public static final byte[] MAGIC = {(byte) 0x8B, 'd', 's', 'c'};
    /** Disco packet format version. */
    public static final int VERSION = 1;
    /** Session ID: u64 start time in milliseconds (orders sessions, handshake replay) and 8 random bytes. */
    public static final int SESSION_LENGTH = 16;
    /** magic[4] version[1] sender key[32] session[16] counter[8]. */
    public static final int HEADER_LENGTH = 4 + 1 + 32 + SESSION_LENGTH + 8;
    /** ChaCha20-Poly1305 tag. */
    public static final int TAG_LENGTH = 16;
    /** Transaction IDs of ping and pong (96 bits: unguessable, like STUN's). */
    public static final int TX_ID_LENGTH = 12;
    /** One endpoint on the wire: a 16-byte IPv6 address (IPv4 as ::ffff:a.b.c.d) and a u16 port. */
    public static final int ENDPOINT_LENGTH = 18;
    /** Candidates in one CALL_ME_MAYBE: local interfaces plus a few STUN mappings fit easily; more is abuse. */
    public static final int MAX_ENDPOINTS = 32;
    /** Largest plaintext: type, then 32 endpoints. Pings are padded below this. */
    public static final int MAX_PLAINTEXT = 1 + MAX_ENDPOINTS * ENDPOINT_LENGTH;
    /** Largest packet we accept: header, plaintext and tag; bigger datagrams are dropped before any crypto. */
    public static final int MAX_PACKET = HEADER_LENGTH + MAX_PLAINTEXT + TAG_LENGTH;
    /** Smallest packet: header, a type byte and the tag. */
    public static final int MIN_PACKET = HEADER_LENGTH + 1 + TAG_LENGTH;
    /** Received-counter window per session (RFC 6479 style); out-of-order disco traffic is a handful of packets, so 1024 is ample. */
    public static final int REPLAY_WINDOW = 1024;
    /** A sending session is replaced (new session ID, new key) before its counter reaches this; it never wraps (nonce reuse and replay). */
    public static final long REKEY_AFTER_MESSAGES = 1L << 48;
}
