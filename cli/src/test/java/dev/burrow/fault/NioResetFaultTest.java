package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/** {@link ResetPropagationFaultCases} on the relay path with NIO on the relay. */
class NioResetFaultTest extends ResetPropagationFaultCases {
    @Override
    TransportKind transport() {
        return TransportKind.NIO;
    }
}
