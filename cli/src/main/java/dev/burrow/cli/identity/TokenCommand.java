package dev.burrow.cli.identity;

import dev.burrow.cli.common.CliJson;
import dev.burrow.cli.common.DurationOption;
import dev.burrow.cli.common.OutputFormat;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.token.InvalidTokenException;
import dev.burrow.identity.token.JoinToken;
import dev.burrow.identity.token.JoinTokenStore;
import dev.burrow.identity.token.JoinTokenStore.CreatedToken;
import dev.burrow.identity.token.JoinTokenStore.TokenInfo;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code burrow token}: join tokens for enrolment. */
@Command(
        name = "token",
        mixinStandardHelpOptions = true,
        description = "Join tokens: a new node trades one for a fleet certificate.",
        subcommands = {TokenCommand.Create.class, TokenCommand.ListTokens.class, TokenCommand.Revoke.class})
public final class TokenCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: create, list or revoke");
    }

    static JoinTokenStore store(Path caDir) throws IOException {
        return JoinTokenStore.open(CaCommand.caDir(caDir), Clock.systemUTC());
    }

    /** {@code burrow token create}. */
    @Command(
            name = "create",
            mixinStandardHelpOptions = true,
            description = "Create a join token. The token is printed once on stdout; only its hash is stored.")
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Option(names = "--tag", paramLabel = "TAG", description = "A tag the certificate gets (repeatable).")
        List<String> tags = new ArrayList<>();

        @Option(
                names = "--uses",
                paramLabel = "N",
                defaultValue = "1",
                description = "How many nodes may use it. Default: ${DEFAULT-VALUE}.")
        int uses;

        @Option(
                names = "--ttl",
                paramLabel = "DURATION",
                defaultValue = "1h",
                description = "Lifetime, e.g. 30m, 1h, 7d. Default: ${DEFAULT-VALUE}.")
        String ttl;

        @Option(names = "--name", paramLabel = "NAME", description = "Fix the node's name (needs --uses 1).")
        String name;

        @Option(
                names = "--name-prefix",
                paramLabel = "PREFIX",
                description =
                        "Every name enrolled with the token starts with PREFIX (e.g. ci-); without a requested name the CA "
                                + "generates one. Without --name or --name-prefix a node gets the free name it asks for, else a generated one.")
        String namePrefix;

        @Override
        public Integer call() throws Exception {
            Duration d = DurationOption.parse("--ttl", ttl);
            JoinTokenStore store = store(caDir);
            CreatedToken created;
            try {
                created = store.create(Set.copyOf(tags), uses, d, name, namePrefix);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
            PrintWriter err = spec.commandLine().getErr();
            err.println("join token " + created.info().id() + ": tags="
                    + created.info().tags() + " uses=" + uses + (name != null ? " name=" + name : "")
                    + (namePrefix != null ? " name-prefix=" + namePrefix : "") + " expires="
                    + created.info().expiresAt());
            err.println("it is shown only now; hand it to the new node over a private channel:");
            err.flush();
            PrintWriter out = spec.commandLine().getOut();
            out.println(created.token().reveal());
            out.flush();
            return 0;
        }
    }

    /** {@code burrow token list}. */
    @Command(name = "list", mixinStandardHelpOptions = true, description = "List join tokens (never their secrets).")
    static final class ListTokens implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Option(
                names = {"-o", "--output"},
                paramLabel = "FORMAT",
                defaultValue = "text",
                description = "text or json.")
        String output;

        @Override
        public Integer call() throws Exception {
            boolean json = OutputFormat.parse(output) == OutputFormat.JSON;
            List<TokenInfo> tokens = store(caDir).list();
            PrintWriter out = spec.commandLine().getOut();
            if (json) {
                var root = CliJson.object();
                var arr = root.putArray("tokens");
                for (TokenInfo t : tokens) {
                    var n = arr.addObject();
                    n.put("id", t.id());
                    n.put("revoked", t.revoked());
                    n.put("uses", t.uses());
                    n.put("usesLeft", t.usesLeft());
                    n.put("expires", t.expiresAt().toString());
                    n.put("name", t.name());
                    t.tags().forEach(n.putArray("tags")::add);
                }
                out.print(CliJson.pretty(root));
                out.flush();
                return 0;
            }
            out.printf("%-16s  %-8s  %-9s  %-20s  %-12s  %s%n", "ID", "STATUS", "USES LEFT", "EXPIRES", "NAME", "TAGS");
            Instant now = Instant.now();
            for (TokenInfo t : tokens) {
                String status = t.revoked()
                        ? "revoked"
                        : !now.isBefore(t.expiresAt()) ? "expired" : t.usesLeft() == 0 ? "used" : "active";
                out.printf(
                        "%-16s  %-8s  %-9s  %-20s  %-12s  %s%n",
                        t.id(),
                        status,
                        t.usesLeft() + "/" + t.uses(),
                        t.expiresAt(),
                        t.name() != null ? t.name() : t.namePrefix() != null ? t.namePrefix() + "*" : "-",
                        String.join(",", t.tags()));
            }
            out.flush();
            return 0;
        }
    }

    /** {@code burrow token revoke ID}. */
    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Revoke a join token by its ID.")
    static final class Revoke implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--ca-dir", paramLabel = "DIR", description = "CA directory. Default: <state dir>/ca.")
        Path caDir;

        @Parameters(paramLabel = "ID", description = "The token ID (from 'burrow token list'; not the token itself).")
        String id;

        @Override
        public Integer call() throws Exception {
            String tokenId = id.strip();
            if (tokenId.startsWith(JoinToken.PREFIX + ".")) {
                // Someone pasted the whole token: use its id, never echo the secret.
                try {
                    tokenId = JoinToken.parse(tokenId).id();
                } catch (InvalidTokenException e) {
                    throw new UsageException("ID: not a token ID (16 characters a-z, 2-7)");
                }
            }
            if (!JoinToken.isValidId(tokenId)) {
                throw new UsageException("ID: not a token ID (16 characters a-z, 2-7)");
            }
            if (!store(caDir).revoke(tokenId)) {
                throw new IllegalStateException("no join token with ID " + tokenId);
            }
            spec.commandLine().getOut().println("revoked join token " + tokenId);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
