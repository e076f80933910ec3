package dev.burrow.netlab;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One network namespace of a {@link NetLab}: run commands and programs inside it. The namespace
 * and everything started in it are removed when the lab closes.
 */
public class Namespace {
    final NetLab lab;
    private final String label;
    private final String name;
    private Attachment attachment;

    Namespace(NetLab lab, String label) {
        this.lab = lab;
        this.label = label;
        this.name = lab.prefix() + label;
    }

    /** The short name given by the test ({@code "relay"}, {@code "a-gw"}). */
    public String label() {
        return label;
    }

    /** The kernel's name for it ({@code burrow-lab-<pid>-<run>-<label>}), for {@code ip netns exec}. */
    public String name() {
        return name;
    }

    public NetLab lab() {
        return lab;
    }

    /** {@code ip netns exec <name> <command>}: the prefix to run anything inside this namespace. */
    public List<String> wrap(List<String> command) {
        List<String> cmd = new ArrayList<>(List.of("ip", "netns", "exec", name));
        cmd.addAll(command);
        return cmd;
    }

    /** Runs a short command inside the namespace and returns its result, whatever the exit code. */
    public Cmd.Result tryExec(String... command) {
        return Cmd.run(wrap(Arrays.asList(command)), null, Cmd.DEFAULT_TIMEOUT);
    }

    /** Runs a short command inside the namespace; throws when it fails. */
    public Cmd.Result exec(String... command) {
        return tryExec(command).orThrow();
    }

    /** Loads an nftables ruleset (the text of an {@code nft -f} file) into this namespace. */
    public void nft(String ruleset) {
        Path file = lab.workDir().resolve(label + "-" + lab.nextSerial() + ".nft");
        try {
            Files.writeString(file, ruleset);
        } catch (IOException e) {
            throw new NetLabException("cannot write " + file, e);
        }
        exec("nft", "-f", file.toString());
    }

    public void sysctl(String key, String value) {
        exec("sysctl", "-qw", key + "=" + value);
    }

    /** Starts a long-running program inside the namespace; its output goes to {@code <label>.log} in the lab directory. */
    public LabProcess start(String processLabel, List<String> command) {
        return lab.startProcess(this, processLabel, wrap(command));
    }

    /** Starts a Java main class from the test classpath inside the namespace. */
    public LabProcess startJava(String processLabel, String mainClass, String... args) {
        return start(processLabel, JavaLauncher.command(mainClass, List.of(args), lab.ipv6()));
    }

    /** Starts our {@code burrow} CLI inside the namespace. */
    public LabProcess startBurrow(String processLabel, String... args) {
        return start(processLabel, JavaLauncher.burrow(List.of(args), lab.ipv6()));
    }

    /** Runs a Java main class to completion (bounded) and returns the finished process (exit code, output). */
    public Finished runJava(Duration timeout, String mainClass, String... args) {
        LabProcess p = startJava(mainClass.substring(mainClass.lastIndexOf('.') + 1), mainClass, args);
        return new Finished(p.waitFor(timeout), p.output(), p);
    }

    /** Runs {@code burrow args...} to completion (bounded). */
    public Finished runBurrow(Duration timeout, String... args) {
        LabProcess p = startBurrow("burrow-" + (args.length > 0 ? args[0] : "help"), args);
        return new Finished(p.waitFor(timeout), p.output(), p);
    }

    /** A program that has exited. */
    public record Finished(int exitCode, String output, LabProcess process) {}

    synchronized void recordAttachment(Attachment a) {
        this.attachment = a;
    }

    /** Where this namespace's link plugs into a bridge; null for the internet router itself. */
    synchronized Attachment attachment() {
        return attachment;
    }

    /** Process ids currently inside this namespace ({@code ip netns pids}). */
    public List<Long> pids() {
        return NetLab.namespacePids(name);
    }

    @Override
    public String toString() {
        return name;
    }
}
