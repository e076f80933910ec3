package dev.burrow.agent.direct;

/**
 * The two direct-path sockets. Netty's QUIC codec takes one role per UDP channel, so there is a
 * <em>server</em> socket (QUIC server codec) and a <em>client</em> socket (QUIC client codec); for a
 * pair of nodes the one with the smaller key uses its client socket, the other its server socket.
 */
final class DirectSockets {
    // Final after construction.
    final DirectSocket server = new DirectSocket(true);
    final DirectSocket client = new DirectSocket(false);

    DirectSocket forRole(boolean weAreClient) {
        return weAreClient ? client : server;
    }
}
