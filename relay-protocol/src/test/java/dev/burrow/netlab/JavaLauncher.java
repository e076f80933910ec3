package dev.burrow.netlab;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds command lines that start a JVM inside a namespace: the same JDK (>= 21) that runs the
 * tests, with the test classpath, tuned to start fast on a small machine.
 */
public final class JavaLauncher {
    /**
     * Small, quick-starting child JVMs: two cores are shared by the build and several lab processes.
     * IPv4-only labs also pass {@code -Djava.net.preferIPv4Stack=true} ({@link #IPV4_ONLY_FLAG}),
     * as they always did; in a dual-stack lab child JVMs get the platform default (IPv6 sockets that
     * also carry IPv4), like a real deployment.
     */
    static final List<String> CHILD_JVM_FLAGS = List.of(
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xss512k",
            "-Xmx128m",
            "--enable-native-access=ALL-UNNAMED");
    /** What IPv4-only labs add to {@link #CHILD_JVM_FLAGS}. */
    static final String IPV4_ONLY_FLAG = "-Djava.net.preferIPv4Stack=true";

    private JavaLauncher() {}

    private static List<String> flags(boolean ipv6) {
        List<String> f = new ArrayList<>(CHILD_JVM_FLAGS);
        if (!ipv6) {
            f.add(IPV4_ONLY_FLAG);
        }
        return f;
    }

    /** The {@code java} executable running this JVM. */
    public static String javaExecutable() {
        return ProcessHandle.current()
                .info()
                .command()
                .orElseGet(() ->
                        Path.of(System.getProperty("java.home"), "bin", "java").toString());
    }

    /** The classpath of this JVM (surefire sets {@code java.class.path} to the real test classpath). */
    public static String classpath() {
        return System.getProperty("java.class.path");
    }

    /** {@code java <flags> -cp <test classpath> mainClass args...}, for an IPv4-only lab. */
    public static List<String> command(String mainClass, List<String> args) {
        return command(mainClass, args, false);
    }

    /** As {@link #command(String, List)}; {@code ipv6}: for a dual-stack lab (no preferIPv4Stack). */
    public static List<String> command(String mainClass, List<String> args, boolean ipv6) {
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        cmd.addAll(flags(ipv6));
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(mainClass);
        cmd.addAll(args);
        return cmd;
    }

    /**
     * The {@code burrow} CLI: {@code dev.burrow.cli.Main} from the classpath when it is there (tests in
     * {@code cli/} and later modules), else the shaded jar ({@code -Dburrow.jar=...} or
     * {@code cli/target/burrow.jar} next to this module).
     */
    public static List<String> burrow(List<String> args) {
        return burrow(args, false);
    }

    /** As {@link #burrow(List)}; {@code ipv6}: for a dual-stack lab (no preferIPv4Stack). */
    public static List<String> burrow(List<String> args, boolean ipv6) {
        if (JavaLauncher.class.getClassLoader().getResource("dev/burrow/cli/Main.class") != null) {
            return command("dev.burrow.cli.Main", args, ipv6);
        }
        Path jar = Path.of(System.getProperty("burrow.jar", "../cli/target/burrow.jar"));
        if (!Files.isRegularFile(jar)) {
            throw new NetLabException("burrow CLI not on the classpath and no jar at " + jar.toAbsolutePath()
                    + " (build it with ./run-tests -pl cli -am -DskipTests package, or pass -Dburrow.jar)");
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(javaExecutable());
        cmd.addAll(flags(ipv6));
        cmd.add("-jar");
        cmd.add(jar.toAbsolutePath().toString());
        cmd.addAll(args);
        return cmd;
    }
}
