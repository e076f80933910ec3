package dev.burrow.cli.common;

import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import dev.burrow.transport.TransportSelector;
import picocli.CommandLine.Option;

/** Mixin: {@code --transport auto|iouring|epoll|nio}, shared by every command that opens sockets. */
public final class TransportOption {
    @Option(
            names = "--transport",
            paramLabel = "KIND",
            defaultValue = "auto",
            description = "Netty transport: auto (io_uring, then epoll, then nio), iouring, epoll or nio. " + "Env: "
                    + TransportSelector.ENV_OVERRIDE + ". Default: ${DEFAULT-VALUE}.")
    String transport;

    /** Selects (and logs) the transport for this process. */
    public Transport select() {
        TransportKind requested;
        try {
            requested = TransportKind.parse(transport);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        return new TransportSelector().selectFromEnvironment(requested);
    }
}
