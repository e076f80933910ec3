package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/** {@link KillNineFaultTest}'s faults with every process asked for io_uring (the default where available). */
class KillNineIoUringFaultTest extends KillNineFaultTest {
    @Override
    TransportKind transport() {
        return TransportKind.IO_URING;
    }
}
