package dev.burrow.relay.server.ingress;

import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.relay.server.circuit.CircuitManager;
import dev.burrow.relay.server.forward.ClientSession;
import dev.burrow.relay.server.metrics.RelayMetrics;
import java.util.List;

/**
 * Public ingress as the control connection and the circuits see it ({@link IngressManager}; a
 * disabled one refuses every PUBLISH). Its circuits attach through the circuit path.
 */
public interface PublicIngress extends CircuitManager.ExternalCircuits {
    /** Ingress off: every PUBLISH is refused with NOT_ENABLED. */
    static PublicIngress disabled(RelayMetrics metrics) {
        return IngressManager.disabled(metrics);
    }

    boolean enabled();

    /** PUBLISH from {@code owner}; called on its event loop. */
    void publish(ClientSession owner, ClientFrame.Publish p);

    /** UNPUBLISH from {@code owner}: its port closes. */
    void unpublish(ClientSession owner, String service);

    /** The owner's control connection ended: all its ports close, its waiting clients are reset. */
    void clientGone(ClientSession owner);

    /** CIRCUIT_REJECT from {@code listener}: true when it was for one of ours (the client is reset). */
    boolean reject(ClientSession listener, ClientFrame.CircuitReject r);

    /** Published services, for status and tests. */
    List<IngressManager.Publication> publications();

    /** Public connections open now. */
    int openConnections();

    void closeAll();
}
