package dev.burrow.agent.metrics;

import dev.burrow.agent.relay.RelaySwitchReason;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.SpliceOutcome;
import dev.burrow.agent.stream.StreamStatusCode;

/**
 * What the agent counts. Tags are bounded enums (direction, status code, outcome); never a peer,
 * service or address.
 */
public interface AgentMetrics {
    String STREAMS_OPENED = "burrow.agent.streams.opened";
    String STREAMS_REFUSED = "burrow.agent.streams.refused";
    String STREAMS_ENDED = "burrow.agent.streams.ended";
    String STREAM_BYTES = "burrow.agent.stream.bytes";
    String PREAMBLE_ERRORS = "burrow.agent.preamble.errors";
    /** Home relay changes, tagged {@code reason}: latency, draining, dead. */
    String RELAY_SWITCHES = "burrow.agent.relay.switches";
    /** Target connections whois could not record (table full). */
    String WHOIS_OVERFLOWS = "burrow.agent.whois.overflows";

    /**
     * Inbound streams whose path (relay circuit, direct connection) closed before the gate decided,
     * tagged {@code stage}: no refusal was sent because nobody was left to read it.
     */
    String STREAMS_ABANDONED = "burrow.agent.streams.abandoned";

    /** Relay sessions opened, tagged {@code role}: dialer or listener (docs/protocol.md "Relay sessions"). */
    String RELAY_SESSIONS_OPENED = "burrow.agent.relay.sessions.opened";
    /** Relay sessions closed, tagged {@code role}. */
    String RELAY_SESSIONS_CLOSED = "burrow.agent.relay.sessions.closed";
    /** Streams carried by relay sessions, tagged {@code role}. */
    String RELAY_SESSION_STREAMS = "burrow.agent.relay.session.streams";
    /** Relay session failures and bad input, tagged {@code reason}. */
    String RELAY_SESSION_ERRORS = "burrow.agent.relay.session.errors";
    /**
     * Streams a dialer held back before opening them, to stay within the peer's stream-open rate
     * (relay and direct TCP sessions; {@code session.OpenPacer}).
     */
    String SESSION_OPENS_PACED = "burrow.agent.session.opens.paced";

    /** Direct TCP sessions opened (a session carried by a TCP connection between the agents), tagged {@code role}. */
    String DIRECT_SESSIONS_OPENED = "burrow.agent.direct.sessions.opened";
    /** Direct TCP sessions closed, tagged {@code role}. */
    String DIRECT_SESSIONS_CLOSED = "burrow.agent.direct.sessions.closed";
    /** Direct TCP connections or sessions that failed or were refused, tagged {@code reason}. */
    String DIRECT_SESSION_ERRORS = "burrow.agent.direct.session.errors";

    /** Why a direct TCP session failed or was refused (its streams use the QUIC direct path or the relay). */
    enum DirectSessionError {
        /** The TCP connect to the peer's proven endpoint failed (a NAT, a firewall): QUIC stays the direct path. */
        CONNECT_FAILED,
        /** TLS, the peer check or HTTP/2 set-up failed or timed out. */
        SETUP_FAILED,
        /** An inbound connection was closed unread: too many unauthenticated connections at once. */
        HANDSHAKE_LIMIT,
        /** An authenticated inbound session was closed: too many sessions (in all, or from that peer). */
        LIMIT,
        /** A session heard nothing (not even a PING answer) for too long and was closed. */
        SILENT
    }

    /** Why a relay session (or one of its streams) failed. */
    enum SessionError {
        /** The circuit, TLS or HTTP/2 set-up failed (streams used per-stream circuits meanwhile). */
        SETUP_FAILED,
        /** The peer refused the session service (an older agent): it gets per-stream circuits. */
        PEER_UNSUPPORTED,
        /** A stream's request was malformed (no valid service): that stream was reset. */
        BAD_STREAM,
        /** A peer opened streams faster than allowed: the excess streams were refused. */
        STREAM_RATE,
        /** The session broke (protocol error, transport gone) while streams were open. */
        BROKEN,
        /** A session offer was refused: too many sessions. */
        LIMIT,
        /** A session from a peer that no exposed service admits was closed after TLS. */
        NOT_ALLOWED
    }

    /** How far an inbound stream got before its path closed under it. */
    enum AbandonStage {
        /** Closed before the gate took the stream (e.g. the circuit died between attach and hand-over). */
        ARRIVAL,
        /** During the end-to-end TLS handshake (or before the dialer's first TLS byte). */
        TLS,
        /** TLS done, the dialer's OPEN had not arrived. */
        OPEN,
        /** OPEN admitted, the local target connect had not finished. */
        TARGET
    }

    void streamOpened(Direction direction);

    void streamRefused(Direction direction, StreamStatusCode code);

    void streamEnded(Direction direction, SpliceOutcome outcome, long bytesIn, long bytesOut);

    /** A malformed or unexpected preamble closed a stream. */
    void preambleError();

    /** An inbound stream's path closed before the gate decided; its wait ended at once. */
    default void streamAbandoned(AbandonStage stage) {}

    /** The agent changed its home relay (several relays configured). */
    default void relaySwitched(RelaySwitchReason reason) {}

    /** A relay session was opened (dialer: we started it; else a peer did). */
    default void relaySessionOpened(boolean dialer) {}

    /** A relay session closed. */
    default void relaySessionClosed(boolean dialer) {}

    /** A stream was opened on a relay session. */
    default void relaySessionStream(boolean dialer) {}

    /** A relay session or one of its streams failed. */
    default void relaySessionError(SessionError error) {}

    /** A dialer held a stream open back to keep within the peer's stream-open rate. */
    default void relaySessionOpenPaced() {}

    /** A direct TCP session was opened (dialer: we connected; else a peer did). */
    default void directSessionOpened(boolean dialer) {}

    /** A direct TCP session closed. */
    default void directSessionClosed(boolean dialer) {}

    /** A direct TCP connection or session failed or was refused. */
    default void directSessionError(DirectSessionError error) {}

    /** A target connection was made while the whois table was full: it runs, but whois cannot name its caller. */
    default void whoisOverflow() {}

    AgentMetrics NOOP = new AgentMetrics() {
        @Override
        public void streamOpened(Direction direction) {}

        @Override
        public void streamRefused(Direction direction, StreamStatusCode code) {}

        @Override
        public void streamEnded(Direction direction, SpliceOutcome outcome, long bytesIn, long bytesOut) {}

        @Override
        public void preambleError() {}
    };
}
