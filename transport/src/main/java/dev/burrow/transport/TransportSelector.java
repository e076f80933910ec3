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

    /**
     * Netty's switch for multi-shot POLLIN on io_uring, which Burrow turns off (unless set
     * explicitly) before anything touches the io_uring classes.
     *
     * <p>Why (issue 19): every Burrow copy loop runs with auto-read off and pauses a socket's reads
     * while the other side is full. With a multi-shot POLLIN the poll stays armed across the pause
     * and only reports new wake-ups. A socket that is reset while paused gets one last wake-up;
     * Netty drains its data on the POLLRDHUP, stops when the socket is empty (the pending reset not
     * yet read), and when reads resume it sees the poll still armed and arms nothing: no further
     * wake-up ever comes for a dead socket, so the reset was never read, no exceptionCaught or
     * channelInactive fired, and the relay kept the other end of the circuit open forever. A
     * one-shot poll is armed afresh on every resume, and arming reports a reset or closed socket
     * at once. The cost is one poll submission per resume.
     */
    public static final String IO_URING_MULTISHOT_POLL_PROPERTY = "io.netty.iouring.pollAddMultishotEnabled";

    static {
        if (System.getProperty(IO_URING_MULTISHOT_POLL_PROPERTY) == null) {
            System.setProperty(IO_URING_MULTISHOT_POLL_PROPERTY, "false");
        }
    }

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
