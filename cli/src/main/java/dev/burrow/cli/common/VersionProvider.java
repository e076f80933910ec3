package dev.burrow.cli.common;

import dev.burrow.protocol.BurrowVersion;
import picocli.CommandLine.IVersionProvider;

/** {@code burrow --version}: the build's version ({@link BurrowVersion}) and the Java running it. */
public final class VersionProvider implements IVersionProvider {
    public static String version() {
        return BurrowVersion.get();
    }

    @Override
    public String[] getVersion() {
        return new String[] {
            "burrow " + version(), "Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ")",
        };
    }
}
