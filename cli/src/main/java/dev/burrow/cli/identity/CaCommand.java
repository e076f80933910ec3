package dev.burrow.cli.identity;

import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.Pem;
import dev.burrow.identity.SecureFiles;
import dev.burrow.identity.StateDirs;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.ca.IssuedNames;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code burrow ca}: the fleet certificate authority. */
@Command(
        name = "ca",
        mixinStandardHelpOptions = true,
        description = "Fleet certificate authority: create it and issue node certificates.",
        subcommands = {CaCommand.Init.class, CaCommand.Issue.class, CaCommand.Revoke.class, CaCommand.Names.class})
public final class CaCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: init, issue, revoke or names");
    }

    static Path caDir(Path given) {
        return given != null ? given : StateDirs.defaultCaDir();
    }

    /** {@code burrow ca init}. */
    @Command(
            name = "init",
            mixinStandardHelpOptions = true,
            description = "Create a fleet CA (Ed25519 key and CA certificate).")
    static final class Init implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Option(
                names = "--name",
                paramLabel = "NAME",
                defaultValue = "burrow",
                description = "CA name. Default: ${DEFAULT-VALUE}.")
        String name;

        @Override
        public Integer call() throws Exception {
            if (!CertificateProfile.isValidName(name)) {
                throw new UsageException("--name: " + IdCommand.invalid(name));
            }
            Path dir = caDir(caDir);
            FleetCa ca = FleetCa.init(dir, name, Clock.systemUTC());
            PrintWriter out = spec.commandLine().getOut();
            out.println("created fleet CA '" + name + "' in " + dir.toAbsolutePath());
            out.println("CA certificate (give it to relays and nodes): "
                    + dir.resolve(FleetCa.CERT_FILE).toAbsolutePath());
            out.println("expires: " + ca.certificate().getNotAfter().toInstant());
            out.flush();
            return 0;
        }
    }

    /** {@code burrow ca revoke NAME}: releases a name from its holder. */
    @Command(
            name = "revoke",
            mixinStandardHelpOptions = true,
            description = "Release a node name: it resolves to no node until it is issued again (to any node key).")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Parameters(paramLabel = "NAME", description = "The node name to release.")
        String name;

        @Override
        public Integer call() throws Exception {
            if (!CertificateProfile.isValidName(name)) {
                throw new UsageException("NAME: " + IdCommand.invalid(name));
            }
            Path dir = caDir(caDir);
            FleetCa.load(dir, Clock.systemUTC()); // only a CA directory has a name record
            Optional<IssuedNames.Holder> released =
                    IssuedNames.open(dir, Clock.systemUTC()).release(name);
            if (released.isEmpty()) {
                throw new IllegalStateException("no node holds the name '" + name + "' in " + dir.toAbsolutePath());
            }
            PrintWriter out = spec.commandLine().getOut();
            out.println(
                    "released name '" + name + "' from node " + released.get().nodeId());
            out.println("relays with this CA directory resolve '" + name + "' to no node until it is issued again");
            out.flush();
            return 0;
        }
    }

    /** {@code burrow ca names}: the CA's record of issued names. */
    @Command(
            name = "names",
            mixinStandardHelpOptions = true,
            description = "List issued names and the node that holds each.")
    static final class Names implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Override
        public Integer call() throws Exception {
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-24s  %-56s  %-20s  %s%n", "NAME", "NODE", "SINCE", "LAST ISSUED");
            for (IssuedNames.Holder h :
                    IssuedNames.open(caDir(caDir), Clock.systemUTC()).list()) {
                out.printf(
                        "%-24s  %-56s  %-20s  %s%n",
                        h.name(), h.nodeId(), Instant.ofEpochSecond(h.since()), Instant.ofEpochSecond(h.lastIssued()));
            }
            out.flush();
            return 0;
        }
    }

    /** {@code burrow ca issue}. */
    @Command(name = "issue", mixinStandardHelpOptions = true, description = "Issue a node certificate for a node ID.")
    static final class Issue implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Option(
                names = "--node",
                required = true,
                paramLabel = "NODE_ID",
                description = "The node's ID (see 'burrow id').")
        String node;

        @Option(
                names = "--name",
                required = true,
                paramLabel = "NAME",
                description = "Node name: 1-63 of a-z, 0-9, '-'.")
        String name;

        @Option(names = "--tag", paramLabel = "TAG", description = "A tag (repeatable).")
        List<String> tags = new ArrayList<>();

        @Option(
                names = "--days",
                paramLabel = "N",
                defaultValue = "90",
                description = "Validity in days. Default: ${DEFAULT-VALUE}.")
        int days;

        @Option(
                names = "--replace",
                description = "Give NAME to this node even when another node holds it (that node loses the name).")
        boolean replace;

        @Option(
                names = "--out",
                paramLabel = "FILE",
                description =
                        "Write the chain (node certificate, CA certificate) as PEM here, e.g. <state dir>/node.crt. Default: stdout.")
        Path out;

        @Override
        public Integer call() throws Exception {
            NodeKey key;
            try {
                key = NodeKey.parse(node);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--node: " + e.getMessage());
            }
            if (days < 1 || days > FleetCa.MAX_NODE_VALIDITY.toDays()) {
                throw new UsageException("--days must be between 1 and " + FleetCa.MAX_NODE_VALIDITY.toDays());
            }
            Set<String> tagSet;
            try {
                CertificateProfile.requireValidName(name);
                tagSet = CertificateProfile.requireValidTags(tags);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            FleetCa ca = FleetCa.load(caDir(caDir), Clock.systemUTC());
            try {
                IssuedNames.open(ca.dir(), Clock.systemUTC()).claim(key, List.of(name), replace);
            } catch (IssuedNames.NameTakenException e) {
                throw new IllegalStateException("name '" + name + "' belongs to node "
                        + e.holder().nodeId() + "; release it first with 'burrow ca revoke " + name
                        + "', or pass --replace to move it to this node");
            }
            X509Certificate cert;
            try {
                cert = ca.issue(key, name, tagSet, Duration.ofDays(days));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            String pem = Pem.encodeCertificates(ca.chainFor(cert));
            PrintWriter w = spec.commandLine().getOut();
            if (out == null) {
                w.print(pem);
            } else {
                SecureFiles.writeAtomically(out, pem.getBytes(StandardCharsets.US_ASCII), SecureFiles.PUBLIC_PERMS);
                spec.commandLine()
                        .getErr()
                        .println("wrote certificate for " + key.shortId() + " ('" + name + "', until "
                                + cert.getNotAfter().toInstant() + ") to " + out.toAbsolutePath());
                spec.commandLine().getErr().flush();
            }
            w.flush();
            return 0;
        }
    }
}
