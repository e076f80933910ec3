package dev.burrow.relay.server;

import dev.burrow.transport.Transport;
import io.netty.channel.EventLoopGroup;
import java.io.IOException;
import java.net.InetSocketAddress;

/** Starts the STUN server next to the relay (same process, same event loops). */
final class StunEmbedding {
    private StunEmbedding() {}

    static AutoCloseable start(InetSocketAddress address, Transport transport, EventLoopGroup group) throws IOException {
        // TODO(stun): wire dev.burrow.stun.server's embeddable server once it is committed.
        throw new IOException("stun-listen " + address + ": the embedded STUN server is not available in this build yet");
    }
}
