package dev.burrow.agent.relay;

/**
 * User event fired down the pipeline when the HTTP upgrade or WebSocket handshake is done and the
 * channel carries relay frames. The control handler does not need it (it waits for SERVER_HELLO);
 * the circuit attach handler sends CIRCUIT_ATTACH on it.
 */
final class TransportReadyEvent {
    static final TransportReadyEvent INSTANCE = new TransportReadyEvent();

    private TransportReadyEvent() {}

    @Override
    public String toString() {
        return "TransportReadyEvent";
    }
}
