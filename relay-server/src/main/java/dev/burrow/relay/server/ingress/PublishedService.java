package dev.burrow.relay.server.ingress;

import dev.burrow.protocol.frame.SourcePrefix;
import dev.burrow.relay.server.forward.ClientSession;
import io.netty.channel.Channel;
import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One service published on one public port: the listener's session, the port's server channel,
 * and the options the listener asked for, capped by the relay's limits. Options are replaced as a
 * whole when the listener publishes again.
 */
final class PublishedService {
    /** Options in force; replaced as a whole. */
    record Options(List<SourcePrefix> sources, int maxConnections, Duration idleTimeout) {}

    final ClientSession owner;
    final String service;
    final AtomicInteger open = new AtomicInteger();
    volatile Options options;
    volatile Channel serverChannel;
    volatile int port;
    volatile boolean closed;

    PublishedService(ClientSession owner, String service, Options options) {
        this.owner = owner;
        this.service = service;
        this.options = options;
    }

    boolean admits(InetAddress client) {
        for (SourcePrefix p : options.sources()) {
            if (p.matches(client)) {
                return true;
            }
        }
        return false;
    }
}
