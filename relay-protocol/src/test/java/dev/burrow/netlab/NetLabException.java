package dev.burrow.netlab;

/** A lab operation failed: a command exited non-zero, a wait ran out, a name was invalid. */
public final class NetLabException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public NetLabException(String message) {
        super(message);
    }

    public NetLabException(String message, Throwable cause) {
        super(message, cause);
    }
}
