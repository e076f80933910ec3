package dev.burrow.protocol;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * The software version of this build (Maven filters it into {@code burrow-version.properties}):
 * {@code burrow --version}, the relay's {@code burrow_relay_info{version}} and the STUN SOFTWARE
 * attribute all read it here.
 */
public final class BurrowVersion {
    private static final String VERSION = load();

    private BurrowVersion() {}

    /** For example {@code 0.1.0-SNAPSHOT}; {@code unknown} when the classes were not built by Maven. */
    public static String get() {
        return VERSION;
    }

    private static String load() {
        Properties p = new Properties();
        try (InputStream in = BurrowVersion.class.getResourceAsStream("/burrow-version.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read burrow-version.properties from the jar", e);
        }
        String v = p.getProperty("version", "unknown");
        return v.startsWith("${") ? "unknown" : v;
    }
}
