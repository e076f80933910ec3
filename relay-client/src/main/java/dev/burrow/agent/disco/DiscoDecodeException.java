package dev.burrow.agent.disco;

/** A disco packet or message that does not parse; the datagram is dropped. */
public final class DiscoDecodeException extends Exception {
    public DiscoDecodeException(String message) {
        super(message, null, false, false);
    }
}
