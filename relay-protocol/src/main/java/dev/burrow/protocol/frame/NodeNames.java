package dev.burrow.protocol.frame;

/**
 * Node names on the wire (LOOKUP_NAME): 1 to {@value FrameLimits#MAX_NODE_NAME} characters of
 * {@code a-z 0-9 -}, starting and ending with a letter or digit: the same rule as the subject name of a
 * fleet certificate ({@code dev.burrow.identity.CertificateProfile#isValidName}), so any name a CA can
 * issue can be looked up and nothing else reaches the relay's index.
 */
public final class NodeNames {
    private NodeNames() {}

    public static boolean isValid(String name) {
        if (name == null || name.isEmpty() || name.length() > FrameLimits.MAX_NODE_NAME) {
            return false;
        }
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            boolean alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
            boolean inner = c == '-' && i > 0 && i < name.length() - 1;
            if (!alnum && !inner) {
                return false;
            }
        }
        return true;
    }
}
