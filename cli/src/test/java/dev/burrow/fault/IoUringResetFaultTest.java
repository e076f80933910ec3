package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/** {@link ResetPropagationFaultCases} on the relay path with io_uring on the relay (the transport of the original hang). */
class IoUringResetFaultTest extends ResetPropagationFaultCases {
    @Override
    TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
