package dev.burrow.cli.identity;

import dev.burrow.cli.common.CliJson;
import dev.burrow.cli.common.OutputFormat;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.StateDirs;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code burrow id}: shows this node's identity, creating it on first run. */
@Command(
        name = "id",
        mixinStandardHelpOptions = true,
        description = "Show this node's identity (node ID, name, certificate), creating the key on first run.")
public final class IdCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--state",
            paramLabel = "DIR",
            description = "State directory. Default: $" + StateDirs.ENV + ", else ~/" + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description = "Name for a newly created self-signed certificate (default: from the host name).")
    String name;

    @Option(names = "--node-id", description = "Print only the node ID (for scripts: BOB=$(burrow id --node-id)).")
    boolean nodeIdOnly;

    @Option(
            names = {"-o", "--output"},
            paramLabel = "FORMAT",
            defaultValue = "text",
            description = "text or json.")
    String output;

    @Override
    public Integer call() throws Exception {
        if (name != null && !CertificateProfile.isValidName(name)) {
            throw new UsageException("--name: " + invalid(name));
        }
        Path dir = StateDirs.resolve(state);
        NodeIdentity id = NodeIdentity.loadOrCreate(dir, name, Clock.systemUTC());
        NodeCertificate cert = id.certificate();
        PrintWriter out = spec.commandLine().getOut();
        boolean selfSigned = cert.selfSigned();
        if (nodeIdOnly) {
            out.println(id.nodeKey().nodeId());
            out.flush();
            return 0;
        }
        if (OutputFormat.parse(output) == OutputFormat.JSON) {
            var json = CliJson.object();
            json.put("nodeId", id.nodeKey().nodeId());
            json.put("name", cert.name());
            json.put("selfSigned", selfSigned);
            json.putPOJO("tags", cert.tags());
            json.put("expires", cert.notAfter().toString());
            json.put("issuer", selfSigned ? null : cert.issuerName());
            json.put("state", dir.toAbsolutePath().toString());
            out.print(CliJson.pretty(json));
            out.flush();
            return 0;
        }
        out.println("node ID:  " + id.nodeKey().nodeId());
        out.println("name:     " + cert.name() + (selfSigned ? " (self-signed: not authoritative)" : ""));
        if (!cert.tags().isEmpty()) {
            out.println("tags:     " + String.join(", ", cert.tags()));
        }
        out.println("expires:  " + cert.notAfter());
        out.println("issuer:   " + (selfSigned ? "self-signed" : cert.issuerName()));
        out.println("state:    " + dir.toAbsolutePath());
        out.flush();
        return 0;
    }

    static String invalid(String value) {
        try {
            CertificateProfile.requireValidName(value);
            return "ok";
        } catch (IllegalArgumentException e) {
            return e.getMessage();
        }
    }
}
