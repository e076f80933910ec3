package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/** {@link ResetPropagationFaultCases} on the relay path with epoll on the relay. */
class EpollResetFaultTest extends ResetPropagationFaultCases {
    @Override
    TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
