package dev.burrow.relay.server.circuit;

import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.relay.server.forward.ClientSession;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;

/** One circuit's state; every field is guarded by the circuit's monitor. */
final class Circuit {
    enum State { OFFERED, ACCEPTED, ACTIVE, CLOSED }

    final CircuitId id;
    final long requestId;
    /** Null when the dialer is on a sibling relay ({@link #remote}). */
    final ClientSession dialer;
    final MeshCircuits.RemoteDialer remote;
    final ClientSession listener;
    final String service;
    CircuitToken dialerToken; // null once consumed
    CircuitToken listenerToken; // null once consumed
    State state = State.OFFERED;
    Channel dialerChannel;
    Channel listenerChannel;
    ScheduledFuture<?> timeout;
    /** When the circuit was offered ({@link System#nanoTime()}): the oldest is evicted first. */
    final long createdNanos = System.nanoTime();

    Circuit(CircuitId id, long requestId, ClientSession dialer, ClientSession listener, String service) {
        this(id, requestId, dialer, null, listener, service);
    }

    Circuit(CircuitId id, long requestId, ClientSession dialer, MeshCircuits.RemoteDialer remote, ClientSession listener,
            String service) {
        this.id = id;
        this.requestId = requestId;
        this.remote = remote;
        this.dialer = dialer;
        this.listener = listener;
        this.service = service;
        this.dialerToken = CircuitToken.random();
        this.listenerToken = CircuitToken.random();
    }

    dev.burrow.identity.NodeKey dialerKey() {
        return dialer != null ? dialer.key() : remote.key();
    }
}
