package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/**
 * {@link ResetPropagationFaultCases} on the direct (QUIC) path between the agents: the relay only
 * introduces them, and the stream's splices run in the agents.
 */
class DirectPathResetFaultTest extends ResetPropagationFaultCases {
    @Override
    TransportKind transport() {
        return TransportKind.IO_URING;
    }

    @Override
    boolean direct() {
        return true;
    }
}
