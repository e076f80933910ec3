package dev.burrow.agent.ingress;

import dev.burrow.agent.relay.RelayClient;
import dev.burrow.agent.relay.RelayClientListener;
import dev.burrow.agent.relay.RelayConnectionInfo;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.PublicIngress;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.PublishRefusedReason;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the relay's publications in line with the services that opted in to public ingress: PUBLISH
 * for each on every (re)connect and after each reload, UNPUBLISH for a service that is no longer
 * public. A publication lasts only as long as the control connection, so a reconnect publishes again
 * (a pinned port comes back; a port from the range may change). The state of each is kept for
 * {@code burrow status}.
 */
public final class IngressPublisher implements RelayClientListener {
    private static final Logger log = LoggerFactory.getLogger(IngressPublisher.class);

    /** What {@code burrow status} shows for one public service. {@code state}: pending, published or refused. */
    public record Publication(String service, String state, String publicAddress, String problem) {}

    // Final after construction.
    private final RelayClient client;
    private final Supplier<List<ExposedService>> services;

    // Guarded by this lock: synced on reload, changed by relay callbacks, read by status.
    private final Map<String, Publication> states = new LinkedHashMap<>();

    public IngressPublisher(RelayClient client, Supplier<List<ExposedService>> services) {
        this.client = client;
        this.services = services;
    }

    /** Publishes every public service and withdraws the rest; call after the service set changed. */
    public synchronized void sync() {
        Map<String, ExposedService> wanted = new LinkedHashMap<>();
        for (ExposedService s : services.get()) {
            if (s.isPublic()) {
                wanted.put(s.name(), s);
            }
        }
        for (String gone : new ArrayList<>(states.keySet())) {
            if (!wanted.containsKey(gone)) {
                states.remove(gone);
                client.sendPublication(new ClientFrame.Unpublish(gone));
                log.info("public ingress: withdrew '{}'", gone);
            }
        }
        for (ExposedService s : wanted.values()) {
            Publication old = states.get(s.name());
            if (old == null || !"published".equals(old.state())) {
                states.put(s.name(), new Publication(s.name(), "pending", null, null));
            }
            PublicIngress p = s.publicIngress();
            client.sendPublication(new ClientFrame.Publish(
                    s.name(),
                    p.maxConnections(),
                    Math.min(p.idleTimeout().toMillis(), 0xFFFF_FFFFL),
                    p.allowSources()));
        }
    }

    /** Every public service and where it is published (status). */
    public synchronized List<Publication> publications() {
        return List.copyOf(states.values());
    }

    @Override
    public void connected(RelayConnectionInfo info) {
        synchronized (this) {
            states.replaceAll((k, v) -> new Publication(k, "pending", null, null));
        }
        sync();
    }

    @Override
    public synchronized void disconnected(Throwable cause, Duration retryIn) {
        states.replaceAll((k, v) -> new Publication(k, "pending", null, "relay connection lost"));
    }

    @Override
    public synchronized void published(String service, int port, String publicAddress) {
        if (states.containsKey(service)) {
            states.put(service, new Publication(service, "published", publicAddress, null));
            log.info(
                    "public ingress: '{}' is published at {} (connections reach it through the relay, without end-to-end TLS)",
                    service,
                    publicAddress);
        }
    }

    @Override
    public synchronized void publishRefused(String service, PublishRefusedReason reason, String message) {
        if (states.containsKey(service)) {
            states.put(
                    service,
                    new Publication(
                            service,
                            "refused",
                            null,
                            reason.name().toLowerCase(Locale.ROOT) + (message.isEmpty() ? "" : ": " + message)));
            log.warn("public ingress: the relay did not publish '{}': {} {}", service, reason, message);
        }
    }
}
