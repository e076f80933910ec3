package dev.burrow.protocol.frame;

/**
 * Service names: 1 to {@value FrameLimits#MAX_SERVICE_NAME} characters of {@code [a-z0-9._-]},
 * starting with a letter or digit. Restricting the alphabet keeps names safe in logs, metrics-free
 * and unambiguous across case.
 */
public final class ServiceNames {
    private ServiceNames() {}

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
