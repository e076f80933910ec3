package dev.burrow.cli.common;

import java.io.IOException;
import java.net.BindException;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.util.Optional;

/**
 * One line a person can act on, for the failures that reach the command line: it names the input
 * (file, address, option), the problem, and the fix. Java's own messages name only part of it
 * ({@code AccessDeniedException}'s message is just the path; Netty's native bind error has no address).
 */
public final class UserErrors {
    /** Longest cause chain walked. */
    private static final int MAX_CAUSES = 16;

    private UserErrors() {}

    /** The line for {@code ex} (without the "burrow: " prefix). */
    public static String describe(Throwable ex) {
        Optional<String> file = fileProblem(ex);
        if (file.isPresent()) {
            return file.get();
        }
        Optional<String> trust = TrustFailures.describe(ex, null);
        if (trust.isPresent()) {
            return trust.get();
        }
        if (addressInUse(ex)) {
            return "an address is already in use (" + ex.getMessage()
                    + "): stop the other process, or choose another port";
        }
        return ex.getMessage() == null ? ex.getClass().getSimpleName() : ex.getMessage();
    }

    /** A file that cannot be read or written, with the reason in words and what to do. */
    public static Optional<String> fileProblem(Throwable ex) {
        Throwable c = ex;
        for (int i = 0; c != null && i < MAX_CAUSES; i++, c = c.getCause()) {
            if (c instanceof AccessDeniedException e) {
                return Optional.of(
                        e.getFile() + ": permission denied: run burrow as the user that owns it, or use files "
                                + "you own (--state DIR for the node's state, --config FILE)");
            }
            if (c instanceof NoSuchFileException e) {
                return Optional.of(e.getFile() + ": no such file"
                        + (e.getOtherFile() == null ? "" : " (" + e.getOtherFile() + ")") + ": check the path");
            }
            if (c instanceof NotDirectoryException e) {
                return Optional.of(e.getFile() + ": not a directory: give a directory (e.g. --state DIR)");
            }
            if (c instanceof FileSystemException e && e.getReason() != null) {
                return Optional.of(e.getFile() + ": " + e.getReason());
            }
        }
        return Optional.empty();
    }

    /** A bind that failed because the address is taken (JDK and Netty native messages). */
    public static boolean addressInUse(Throwable ex) {
        Throwable c = ex;
        for (int i = 0; c != null && i < MAX_CAUSES; i++, c = c.getCause()) {
            String m = String.valueOf(c.getMessage());
            if (c instanceof BindException || m.contains("Address already in use") || m.contains("error(-98)")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Which of {@code addresses} (TCP unless {@code udp}) cannot be bound now: the one another process
     * holds. Port 0 and null are skipped. Used after a bind failure whose message lacks the address.
     */
    public static boolean taken(InetSocketAddress a, boolean udp) {
        if (a == null || a.getPort() == 0) {
            return false;
        }
        try {
            if (udp) {
                try (DatagramSocket s = new DatagramSocket(a)) {
                    return false;
                }
            }
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true); // as the servers do: a port in TIME_WAIT is not "taken"
                s.bind(a);
                return false;
            }
        } catch (IOException e) {
            return true;
        }
    }
}
