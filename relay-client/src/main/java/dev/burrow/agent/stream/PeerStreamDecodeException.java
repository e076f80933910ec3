package dev.burrow.agent.stream;

/**
 * A preamble broke the peer stream protocol: the stream is closed. The message is safe to log and
 * to send back in a STATUS (it never contains payload bytes).
 */
public final class PeerStreamDecodeException extends RuntimeException {
    public PeerStreamDecodeException(String message) {
        super(message, null, false, false); // expected outcome: no stack trace
    }
}
