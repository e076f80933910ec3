package dev.burrow.transport;

import io.netty.channel.epoll.Epoll;
import io.netty.channel.uring.IoUring;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses the Netty transport for the whole process: io_uring when the kernel and the seccomp
 * profile allow it, else epoll, else NIO. An explicit request that cannot be honoured falls back
 * the same way, and the reason is kept in {@link Transport#reason()} and logged at startup.
 */
public final class TransportSelector {
    private static final Logger log = LoggerFactory.getLogger(TransportSelector.class);

    /** Environment variable that overrides the transport for every command (same values as {@code --transport}). */
    public static final String ENV_OVERRIDE = "BURROW_TRANSPORT";

    private final Supplier<Throwable> ioUringUnavailability;
    private final Supplier<Throwable> epollUnavailability;

    public TransportSelector() {
        this(TransportSelector::ioUringCause, TransportSelector::epollCause);
    }

    /** For tests: the probes return {@code null} when the transport is available, else the cause. */
    TransportSelector(Supplier<Throwable> ioUringUnavailability, Supplier<Throwable> epollUnavailability) {
        this.ioUringUnavailability = ioUringUnavailability;
        this.epollUnavailability = epollUnavailability;
    }

    /**
     * @param requested the requested transport, or {@code null} for automatic choice
     */
    public Transport select(TransportKind requested) {
        Transport chosen = choose(requested);
        if (chosen.kind() == TransportKind.NIO && requested != TransportKind.NIO) {
            log.warn("transport: using nio ({})", chosen.reason());
        } else {
            log.info("transport: using {} ({})", chosen.kind().configName(), chosen.reason());
        }
        return chosen;
    }

    /** Applies {@link #ENV_OVERRIDE} when no explicit request was made. */
    public Transport selectFromEnvironment(TransportKind requested) {
        if (requested == null) {
            String env = System.getenv(ENV_OVERRIDE);
            if (env != null && !env.isBlank()) {
                requested = TransportKind.parse(env);
            }
        }
        return select(requested);
    }

    private Transport choose(TransportKind requested) {
        if (requested == TransportKind.NIO) {
            return new Transport(TransportKind.NIO, "requested");
        }
        StringBuilder fallback = new StringBuilder();
        if (requested == null || requested == TransportKind.IO_URING) {
            Throwable cause = ioUringUnavailability.get();
            if (cause == null) {
                return new Transport(TransportKind.IO_URING, requested == null ? "auto: available" : "requested");
            }
            fallback.append("io_uring unavailable: ").append(describe(cause));
        }
        Throwable epollCause = epollUnavailability.get();
        if (epollCause == null) {
            return new Transport(TransportKind.EPOLL, fallback.isEmpty() ? "requested" : fallback.toString());
        }
        if (!fallback.isEmpty()) {
            fallback.append("; ");
        }
        fallback.append("epoll unavailable: ").append(describe(epollCause));
        return new Transport(TransportKind.NIO, fallback.toString());
    }

    private static String describe(Throwable t) {
        Throwable root = t;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String msg = root.getMessage();
        return root.getClass().getSimpleName() + (msg == null ? "" : ": " + msg);
    }

    private static Throwable ioUringCause() {
        try {
            return IoUring.isAvailable() ? null : IoUring.unavailabilityCause();
        } catch (Throwable t) { // a missing native library surfaces as LinkageError
            return t;
        }
    }

    private static Throwable epollCause() {
        try {
            return Epoll.isAvailable() ? null : Epoll.unavailabilityCause();
        } catch (Throwable t) {
            return t;
        }
    }
}
