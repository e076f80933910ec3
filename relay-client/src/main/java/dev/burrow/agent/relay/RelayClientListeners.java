package dev.burrow.agent.relay;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The listeners of one {@link RelayClient}; a listener that throws is logged and does not stop the others. */
final class RelayClientListeners {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Any thread: copy-on-write, added and removed rarely, fired on the client's loop.
    private final List<RelayClientListener> listeners = new CopyOnWriteArrayList<>();

    void add(RelayClientListener listener) {
        listeners.add(listener);
    }

    void remove(RelayClientListener listener) {
        listeners.remove(listener);
    }

    void fire(Consumer<RelayClientListener> event) {
        for (RelayClientListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.warn("relay client listener failed", e);
            }
        }
    }
}
