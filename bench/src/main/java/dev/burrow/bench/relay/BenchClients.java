package dev.burrow.bench.relay;

import dev.burrow.agent.relay.ConnectMode;
import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientConfig;
import dev.burrow.agent.relay.RelayClientMetrics;
import dev.burrow.agent.relay.RelayTrust;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import io.netty.channel.EventLoopGroup;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Relay clients as the bench uses them: ephemeral identities, pinned relay certificate, HTTP Upgrade, one shared event loop group. */
final class BenchClients {
    private BenchClients() {}

    static Transport transport(String kind) {
        return new TransportSelector().select(TransportKind.parse(kind));
    }

    static EventLoopGroup group(Transport t, int threads) {
        return t.newEventLoopGroup(threads, new DefaultThreadFactory("bench-client", true));
    }

    static RelayClient client(URI relay, String fingerprint, String name, Transport t, EventLoopGroup group) {
        RelayClientConfig cfg = RelayClientConfig.builder(
                        relay, RelayTrust.pinned(fingerprint), NodeIdentity.ephemeral(name))
                .mode(ConnectMode.UPGRADE)
                .transport(t)
                .software("burrow-bench")
                .build();
        return new RelayClient(cfg, RelayClientMetrics.NOOP, group);
    }

    /** Starts every client and waits until all are authenticated. */
    static void connectAll(List<RelayClient> clients, long timeoutSeconds) throws Exception {
        CompletableFuture<?>[] all = new CompletableFuture<?>[clients.size()];
        for (int i = 0; i < clients.size(); i++) {
            try {
                clients.get(i).start();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start client: " + e.getMessage(), e);
            }
            all[i] = clients.get(i).whenConnected();
        }
        CompletableFuture.allOf(all).get(timeoutSeconds, TimeUnit.SECONDS);
    }

    static void closeAll(List<RelayClient> clients) {
        clients.parallelStream().forEach(RelayClient::close);
    }
}
