package dev.burrow.fault;

import dev.burrow.transport.TransportKind;

/** {@link KillNineFaultTest}'s faults with every process asked for epoll. */
class KillNineEpollFaultTest extends KillNineFaultTest {
    @Override
    TransportKind transport() {
        return TransportKind.EPOLL;
    }
}
