package dev.burrow.agent.udp;

import dev.burrow.protocol.frame.FrameLimits;
import java.time.Duration;

/** Every UDP-service size, count and time limit, with its reason. */
public final class UdpLimits {
    private UdpLimits() {}

    /**
     * Magic at the start of every sealed UDP packet: {@code 8B 75 64 70} ("\x8Budp"). It shares the
     * first byte 0x8B with the disco magic ({@code 8B 64 73 63}), so neither STUN (first byte 0-3,
     * RFC 7983) nor QUIC (fixed bit 0x40 clear) can be mistaken for it, and the second byte tells
     * disco from UDP on the relay's keyed datagram channel.
     */
    public static final byte[] MAGIC = {(byte) 0x8B, 'u', 'd', 'p'};
    /** Packet format version. */
    public static final int VERSION = 1;
    /** Session ID: u64 start time in ms (orders sessions) and 8 random bytes, as disco's. */
    public static final int SESSION_LENGTH = 16;
    /** magic[4] version[1] sender key[32] session[16] counter[8]: also the AEAD's associated data. */
    public static final int HEADER_LENGTH = 4 + 1 + 32 + SESSION_LENGTH + 8;
    /** ChaCha20-Poly1305 tag. */
    public static final int TAG_LENGTH = 16;
    /** type u8 and flow ID u32 start every message. */
    public static final int MESSAGE_HEADER_LENGTH = 1 + 4;
    /** Bytes a DATA or REPLY message adds around the user's datagram: header, message header, tag. */
    public static final int DATA_OVERHEAD = HEADER_LENGTH + MESSAGE_HEADER_LENGTH + TAG_LENGTH;
    /**
     * Largest sealed packet: the relay's keyed-datagram payload limit (a relay may advertise less in
     * SERVER_ACCEPT; the smaller one counts). Bigger packets are dropped before any crypto.
     */
    public static final int MAX_PACKET = FrameLimits.MAX_DATAGRAM_PAYLOAD;
    /**
     * Largest sealed packet sent as a QUIC datagram on the direct path: 1200 bytes is the UDP payload
     * every QUIC path carries (RFC 9000 section 14), less about 50 bytes of QUIC short header, frame
     * header and AEAD tag, rounded down. A bigger packet takes the relay. Usable user payload on the
     * direct path: {@value} - {@link #DATA_OVERHEAD} = 1068 bytes.
     */
    public static final int DIRECT_MAX_PACKET = 1150;
    /** Smallest packet: header, a message header and the tag. */
    public static final int MIN_PACKET = HEADER_LENGTH + MESSAGE_HEADER_LENGTH + TAG_LENGTH;
    /** Largest plaintext message that fits a {@link #MAX_PACKET}. */
    public static final int MAX_PLAINTEXT = MAX_PACKET - HEADER_LENGTH - TAG_LENGTH;
    /** Largest user datagram a flow carries at all (a local UDP socket cannot send more than 65 507 bytes anyway). */
    public static final int MAX_PAYLOAD = MAX_PACKET - DATA_OVERHEAD;
    /**
     * Largest certificate in an OPEN: an Ed25519 node certificate is about 300-700 bytes; 4 KiB leaves
     * room for long names and many tags while bounding what an unauthenticated-by-policy peer makes us parse.
     */
    public static final int MAX_CERTIFICATE = 4096;
    /** Longest refusal reason text (UTF-8 bytes, a str8); longer reasons are cut. */
    public static final int MAX_REASON = 255;
    /** Received-counter window per session: the relay keeps order; QUIC datagrams reorder a little. */
    public static final int REPLAY_WINDOW = 1024;
    /** A sending session is replaced before its counter reaches this (nonce reuse). */
    public static final long REKEY_AFTER_MESSAGES = 1L << 48;
    /** Peers with key state; beyond this the least recently used is forgotten (bounded memory). */
    public static final int MAX_PEERS = 4096;

    /** A flow with no datagram either way, before any reply was seen (conntrack's UDP default). */
    public static final Duration IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** A flow with no datagram either way once replies were seen ("assured", conntrack's stream default). */
    public static final Duration ASSURED_IDLE_TIMEOUT = Duration.ofSeconds(120);
    /** Datagrams held for a flow whose OPEN is unanswered or whose target socket is not connected yet. */
    public static final int MAX_PENDING_PER_FLOW = 16;
    /**
     * Datagrams one flow may have waiting for the path. Flows take turns at the path (round robin),
     * so a flooding flow fills only its own queue and loses its own excess; 64 datagrams absorb a burst.
     */
    public static final int MAX_QUEUED_PER_FLOW = 64;
    /**
     * Datagrams one drain of the outboxes sends before the loop reads its sockets again. Below the
     * {@link #READ_BATCH} a forward reads per round, so that under overload reading (cheap) outpaces
     * sealing: a flood is shed at its own outbox, not in the kernel's buffer shared by all sources.
     */
    public static final int DRAIN_BUDGET = 32;
    /** Datagrams a UDP socket reads per round of the event loop (Netty's default is 16). */
    public static final int READ_BATCH = 128;
    /**
     * Bytes read per datagram on a forward's socket, as Netty's default for datagram channels: a
     * longer datagram is cut short, then refused as too large (no path carries more than 1400).
     */
    public static final int READ_BUFFER = 2048;
    /** Receive buffer asked for on a forward's socket (the kernel caps it at net.core.rmem_max). */
    public static final int FORWARD_RCVBUF = 4 << 20;
    /** The smallest burst a per-flow rate allows (it is otherwise 100 ms worth of its rate). */
    public static final int FLOW_RATE_MIN_BURST = 16;
    /** How soon a backlog waiting for a full path is tried again. */
    public static final Duration DRAIN_RETRY = Duration.ofMillis(1);
    /** Unacknowledged OPENs are repeated this often (the path may lose datagrams). */
    public static final Duration OPEN_RETRY = Duration.ofMillis(500);
    /** A flow whose OPEN got no answer after this many tries is dropped (its next datagram starts again). */
    public static final int MAX_OPEN_TRIES = 6;
    /**
     * New flows one peer may ask for per second, after a burst of {@link #OPEN_BURST}: each OPEN of a
     * new flow costs a certificate check, so a peer cannot make us verify signatures without bound.
     */
    public static final int OPEN_RATE = 128;
    /** New flows one peer may ask for at once (a client starting many sources). */
    public static final int OPEN_BURST = 512;
    /** A refused source is not asked again for this long: its datagrams are dropped and counted meanwhile. */
    public static final Duration REFUSAL_HOLD = Duration.ofSeconds(5);
    /** Flows one forward carries at once: each is a remote socket on the exposing side. */
    public static final int DEFAULT_MAX_FLOWS_PER_FORWARD = 1024;
    /** Bytes a target socket may have waiting to be written before its flow's datagrams are dropped. */
    public static final int MAX_TARGET_QUEUE_BYTES = 256 * 1024;
    /** Receive buffer of a forward's one UDP socket, which every local source shares: bursts wait here. */
    public static final int FORWARD_RECEIVE_BUFFER = 1 << 20;
    /** Most open flows shown in status (the counts are always complete). */
    public static final int MAX_STATUS_FLOWS = 256;
}
