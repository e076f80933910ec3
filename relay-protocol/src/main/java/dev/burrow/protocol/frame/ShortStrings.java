package dev.burrow.protocol.frame;

import java.nio.charset.StandardCharsets;

/** Helpers for str8 fields and u32 values. */
final class ShortStrings {
    private ShortStrings() {}

    /**
     * Null becomes empty; a string longer than {@link FrameLimits#MAX_SHORT_STRING} UTF-8 bytes is cut
     * at a character boundary (messages are for humans; cutting beats failing).
     */
    static String truncate(String s) {
        if (s == null) {
            return "";
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= FrameLimits.MAX_SHORT_STRING) {
            return s;
        }
        int end = s.length();
        while (s.substring(0, end).getBytes(StandardCharsets.UTF_8).length > FrameLimits.MAX_SHORT_STRING) {
            end--;
            if (end > 0 && Character.isLowSurrogate(s.charAt(end))) {
                end--;
            }
        }
        return s.substring(0, end);
    }

    static void checkU32(long v, String name) {
        if (v < 0 || v > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException(name + " is a u32");
        }
    }
}
