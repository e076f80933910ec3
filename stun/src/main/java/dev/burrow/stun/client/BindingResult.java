package dev.burrow.stun.client;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * A successful Binding transaction. The mapped address is what the server saw; treat it as a
 * candidate only until a connectivity check through it succeeds (RFC 8489 §16.2).
 *
 * @param server         where the request went
 * @param respondedFrom  where the response came from (the server, or its other address after CHANGE-REQUEST)
 * @param localAddress   the local socket the request left from
 * @param mappedAddress  XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS from an old server)
 * @param responseOrigin RESPONSE-ORIGIN (RFC 5780 servers), or null
 * @param otherAddress   OTHER-ADDRESS (RFC 5780 servers), or null
 * @param elapsed        from the first transmission to the response (includes retransmission waits)
 * @param transmissions  how many times the request was sent
 */
public record BindingResult(
        InetSocketAddress server,
        InetSocketAddress respondedFrom,
        InetSocketAddress localAddress,
        InetSocketAddress mappedAddress,
        InetSocketAddress responseOrigin,
        InetSocketAddress otherAddress,
        Duration elapsed,
        int transmissions) {}
