package dev.burrow.agent.udp;

/** A UDP-service packet or message that does not parse: the datagram is dropped and counted. */
public final class UdpDecodeException extends Exception {
    public UdpDecodeException(String message) {
        super(message, null, false, false);
    }
}
