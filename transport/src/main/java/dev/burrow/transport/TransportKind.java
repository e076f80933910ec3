package dev.burrow.transport;

import java.util.Locale;

/** The Netty I/O transports Burrow can run on, in order of preference. */
public enum TransportKind {
    /** Linux io_uring: fewest syscalls; often blocked by container seccomp profiles. */
    IO_URING,
    /** Linux epoll: the dependable native transport. */
    EPOLL,
    /** Java NIO: works everywhere. */
    NIO;

    /** The name used in config files, CLI options and metric tags. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT).replace("_", "");
    }

    /**
     * Parses {@code auto}, {@code iouring}, {@code io_uring}, {@code epoll} or {@code nio}.
     *
     * @return the requested kind, or {@code null} for {@code auto}
     * @throws IllegalArgumentException for anything else
     */
    public static TransportKind parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
        return switch (t) {
            case "auto" -> null;
            case "iouring" -> IO_URING;
            case "epoll" -> EPOLL;
            case "nio" -> NIO;
            default ->
                throw new IllegalArgumentException(
                        "unknown transport '" + text + "': expected auto, iouring, epoll or nio");
        };
    }
}
