package dev.burrow.stun.server;

import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The server's UDP sockets. Without RFC 5780 there is one (index 0). In RFC 5780 mode there are
 * four, indexed by two bits: bit 1 = alternate IP, bit 0 = alternate port. So a CHANGE-REQUEST is
 * an XOR on the receiving index, and OTHER-ADDRESS is the socket at {@code index ^ 3}.
 */
final class UdpSockets {
    static final int PRIMARY = 0;
    static final int CHANGE_PORT = 0b01;
    static final int CHANGE_IP = 0b10;
    static final int OTHER = CHANGE_IP | CHANGE_PORT;

    private final AtomicReferenceArray<Channel> channels;

    UdpSockets(int count) {
        channels = new AtomicReferenceArray<>(count);
    }

    int count() {
        return channels.length();
    }

    void set(int index, Channel channel) {
        channels.set(index, channel);
    }

    /** The socket at {@code index}, or null (not bound yet, or no such socket). */
    Channel get(int index) {
        return index < channels.length() ? channels.get(index) : null;
    }

    /** The bound address of the socket at {@code index}, or null. */
    InetSocketAddress address(int index) {
        Channel c = get(index);
        return c == null ? null : (InetSocketAddress) c.localAddress();
    }
}
