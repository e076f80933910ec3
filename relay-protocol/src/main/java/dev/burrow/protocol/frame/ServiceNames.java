package dev.burrow.protocol.frame;

/**
 * Service names: 1 to {@value FrameLimits#MAX_SERVICE_NAME} characters of {@code [a-z0-9._-]},
 * starting with a letter or digit. Restricting the alphabet keeps names safe in logs, metrics-free
 * and unambiguous across case.
 */
public final class ServiceNames {
    private ServiceNames() {}

    /**
     * The service a relay session circuit names (one end-to-end session per pair of agents carrying
     * many streams, docs/protocol.md "Relay sessions"). Valid on the wire, reserved for agents: no
     * exposed service and no forward may use it ({@link #checkUsable}).
     */
    public static final String SESSION_SERVICE = "burrow.session";

    /** True for names agents reserve for themselves ({@link #SESSION_SERVICE}). */
    public static boolean isReserved(String name) {
        return SESSION_SERVICE.equals(name);
    }

    /**
     * As {@link #check}, and also refuses reserved names: for the names of exposed services and
     * forwards.
     *
     * @throws IllegalArgumentException with a message that says what is wrong
     */
    public static String checkUsable(String name) {
        check(name);
        if (isReserved(name)) {
            throw new IllegalArgumentException("service name '" + name + "' is reserved (relay sessions)");
        }
        return name;
    }

    public static boolean isValid(String name) {
        if (name == null || name.isEmpty() || name.length() > FrameLimits.MAX_SERVICE_NAME) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean ok =
                    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '.' || c == '_' || c == '-'));
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /** @throws IllegalArgumentException with a message that says what a name may contain */
    public static String check(String name) {
        if (!isValid(name)) {
            throw new IllegalArgumentException("invalid service name: use 1-" + FrameLimits.MAX_SERVICE_NAME
                    + " characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit");
        }
        return name;
    }
}
