package dev.burrow.relay.server.circuit;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.relay.server.forward.ClientSession;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.security.MessageDigest;

/** One circuit: who it joins (final) and its state (every mutable field is guarded by the circuit's monitor). */
final class Circuit implements CircuitSlots.Claim<ClientSession> {
    enum State {
        OFFERED,
        ACCEPTED,
        ACTIVE,
        CLOSED
    }

    // Final after construction.
    final CircuitId id;
    final long requestId;
    /** Null when the dialer is on a sibling relay ({@link #remote}). */
    final ClientSession dialer;

    final MeshCircuits.RemoteDialer remote;
    final ClientSession listener;
    final String service;
    /** When the circuit was offered (the manager's clock, in nanoseconds): the oldest is evicted first. */
    final long createdNanos;

    // Guarded by this.
    private CircuitToken dialerToken; // null once consumed
    private CircuitToken listenerToken; // null once consumed
    private State state = State.OFFERED;
    private Channel dialerChannel;
    private Channel listenerChannel;
    private ScheduledFuture<?> timeout;

    Circuit(
            CircuitId id,
            long requestId,
            ClientSession dialer,
            ClientSession listener,
            String service,
            long createdNanos) {
        this(id, requestId, dialer, null, listener, service, createdNanos);
    }

    Circuit(
            CircuitId id,
            long requestId,
            ClientSession dialer,
            MeshCircuits.RemoteDialer remote,
            ClientSession listener,
            String service,
            long createdNanos) {
        this.createdNanos = createdNanos;
        this.id = id;
        this.requestId = requestId;
        this.remote = remote;
        this.dialer = dialer;
        this.listener = listener;
        this.service = service;
        this.dialerToken = CircuitToken.random();
        this.listenerToken = CircuitToken.random();
    }

    NodeKey dialerKey() {
        return dialer != null ? dialer.key() : remote.key();
    }

    @Override
    public ClientSession dialerClient() {
        return dialer;
    }

    @Override
    public ClientSession listenerClient() {
        return listener;
    }

    @Override
    public Object dialerId() {
        return dialerKey();
    }

    @Override
    public long createdNanos() {
        return createdNanos;
    }

    /** What presenting a token did. */
    enum Pairing {
        REFUSED,
        WAITING,
        PAIRED
    }

    /**
     * An end presents {@code presented} on {@code ch}: the listener's token, or the dialer's once the
     * listener accepted. Both tokens are compared in constant time, and the one that matched is
     * consumed (a reused token is refused). PAIRED once both ends are there; the caller then
     * reserves the active slots and calls {@link #activate}.
     */
    synchronized Pairing present(byte[] presented, Channel ch) {
        if (state == State.CLOSED || state == State.ACTIVE) {
            return Pairing.REFUSED;
        }
        boolean isListener = listenerToken != null && MessageDigest.isEqual(listenerToken.bytes(), presented);
        boolean isDialer =
                dialerToken != null && state == State.ACCEPTED && MessageDigest.isEqual(dialerToken.bytes(), presented);
        if (isListener) {
            listenerToken = null;
            listenerChannel = ch;
        } else if (isDialer) {
            dialerToken = null;
            dialerChannel = ch;
        } else {
            return Pairing.REFUSED;
        }
        return listenerChannel != null && dialerChannel != null ? Pairing.PAIRED : Pairing.WAITING;
    }

    /** Both ends attached and the active slots are taken: the circuit copies bytes; its timeout is off. */
    synchronized void activate() {
        state = State.ACTIVE;
        if (timeout != null) {
            timeout.cancel(false);
        }
    }

    /** The listener accepts: the dialer's token to send, or null when the circuit is no longer offered. */
    synchronized CircuitToken accept() {
        if (state != State.OFFERED) {
            return null;
        }
        state = State.ACCEPTED;
        return dialerToken;
    }

    /** The listener's token, for the offer (before any attach consumed it). */
    synchronized CircuitToken listenerToken() {
        return listenerToken;
    }

    synchronized boolean offered() {
        return state == State.OFFERED;
    }

    /** Neither copying nor closed (offered or accepted): it may still time out, be refused or evicted. */
    synchronized boolean notYetActive() {
        return state == State.OFFERED || state == State.ACCEPTED;
    }

    /** Not yet active and its dialer has not attached (a dialer that attached is waiting on the listener): it may be evicted. */
    synchronized boolean evictable() {
        return notYetActive() && dialerChannel == null;
    }

    /**
     * Closes the circuit (an end's channel closed).
     *
     * @return null when it was closed already, else whether it was active
     */
    synchronized Boolean close() {
        if (state == State.CLOSED) {
            return null;
        }
        boolean wasActive = state == State.ACTIVE;
        state = State.CLOSED;
        return wasActive;
    }

    /**
     * Ends a not-yet-active circuit (with {@code onlyIfDialerUnattached}: only while its dialer has not
     * attached) and cancels its timeout. True if this call ended it.
     */
    synchronized boolean endIfNotActive(boolean onlyIfDialerUnattached) {
        if (state == State.CLOSED || state == State.ACTIVE || (onlyIfDialerUnattached && dialerChannel != null)) {
            return false;
        }
        state = State.CLOSED;
        if (timeout != null) {
            timeout.cancel(false);
        }
        return true;
    }

    synchronized void timeout(ScheduledFuture<?> t) {
        this.timeout = t;
    }

    synchronized Channel dialerChannel() {
        return dialerChannel;
    }

    synchronized Channel listenerChannel() {
        return listenerChannel;
    }
}
