package dev.burrow.cli.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.cli.Main;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.Pem;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.token.JoinTokenStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The identity commands, run in-process. */
class IdentityCommandsTest {
    @TempDir
    Path tmp;

    record Run(int exit, String out, String err) {}

    static Run run(String... args) {
        CommandLine cl = Main.newCommandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    @Test
    void idCreatesThenShowsTheSameIdentity() throws Exception {
        Path state = tmp.resolve("state");
        Run first = run("id", "--state", state.toString(), "--name", "laptop");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).contains("node ID:").contains("laptop").contains("self-signed");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(NodeIdentity.KEY_FILE))))
                .isEqualTo("rw-------");
        Run second = run("id", "--state", state.toString());
        assertThat(second.out()).isEqualTo(first.out());
        assertThat(run("id", "--state", state.toString(), "--name", "Bad Name").exit())
                .isEqualTo(2);
    }

    @Test
    void aNameBelongsToOneNodeUntilRevokedOrReplaced() throws Exception {
        Path ca = tmp.resolve("ca");
        assertThat(run("ca", "init", "--ca-dir", ca.toString()).exit()).isZero();
        String a = NodeIdentity.ephemeral("a").nodeKey().nodeId();
        String b = NodeIdentity.ephemeral("b").nodeKey().nodeId();
        assertThat(run("ca", "issue", "--ca-dir", ca.toString(), "--node", a, "--name", "web")
                        .exit())
                .isZero();
        assertThat(run("ca", "issue", "--ca-dir", ca.toString(), "--node", a, "--name", "web")
                        .exit())
                .as("renewal")
                .isZero();

        Run taken = run("ca", "issue", "--ca-dir", ca.toString(), "--node", b, "--name", "web");
        assertThat(taken.exit()).isEqualTo(1);
        assertThat(taken.err())
                .contains("name 'web' belongs to node " + a)
                .contains("burrow ca revoke web")
                .contains("--replace");
        assertThat(taken.out()).as("no certificate").isEmpty();

        Run names = run("ca", "names", "--ca-dir", ca.toString());
        assertThat(names.out()).contains("web").contains(a);

        Run revoke = run("ca", "revoke", "--ca-dir", ca.toString(), "web");
        assertThat(revoke.exit()).as(revoke.err()).isZero();
        assertThat(revoke.out()).contains("released name 'web' from node " + a);
        assertThat(run("ca", "revoke", "--ca-dir", ca.toString(), "web").exit())
                .as("nothing left to release")
                .isEqualTo(1);
        assertThat(run("ca", "issue", "--ca-dir", ca.toString(), "--node", b, "--name", "web")
                        .exit())
                .isZero();
        assertThat(run("ca", "issue", "--ca-dir", ca.toString(), "--node", a, "--name", "web", "--replace")
                        .exit())
                .isZero();
        assertThat(run("ca", "names", "--ca-dir", ca.toString()).out())
                .contains(a)
                .doesNotContain(b);
    }

    @Test
    void tokenCreateWithANamePrefix() throws Exception {
        Path ca = tmp.resolve("ca");
        assertThat(run("ca", "init", "--ca-dir", ca.toString()).exit()).isZero();
        Run created =
                run("token", "create", "--ca-dir", ca.toString(), "--tag", "ci", "--uses", "5", "--name-prefix", "ci-");
        assertThat(created.exit()).as(created.err()).isZero();
        assertThat(created.err()).contains("name-prefix=ci-");
        assertThat(run("token", "list", "--ca-dir", ca.toString()).out()).contains("ci-*");
        assertThat(run("token", "create", "--ca-dir", ca.toString(), "--name", "x", "--name-prefix", "ci-")
                        .exit())
                .isEqualTo(2);
    }

    @Test
    void caInitIssueAndInstall() throws Exception {
        Path ca = tmp.resolve("ca");
        Path state = tmp.resolve("state");
        assertThat(run("ca", "init", "--ca-dir", ca.toString(), "--name", "prod")
                        .exit())
                .isZero();
        assertThat(run("ca", "init", "--ca-dir", ca.toString()).exit()).isEqualTo(1);
        NodeIdentity node = NodeIdentity.loadOrCreate(state);
        Run issue = run(
                "ca",
                "issue",
                "--ca-dir",
                ca.toString(),
                "--node",
                node.nodeKey().nodeId(),
                "--name",
                "alice",
                "--tag",
                "dev",
                "--days",
                "30",
                "--out",
                state.resolve(NodeIdentity.CERT_FILE).toString());
        assertThat(issue.exit()).as(issue.err()).isZero();
        Run id = run("id", "--state", state.toString());
        assertThat(id.out())
                .contains("alice")
                .contains("dev")
                .contains("O=Burrow fleet CA")
                .doesNotContain("self-signed");

        NodeVerifier v = NodeVerifier.builder()
                .trustCa(FleetCa.readCertificate(ca.resolve(FleetCa.CERT_FILE)))
                .build();
        VerifiedPeer p =
                v.verify(NodeIdentity.load(state).certificateChain().toArray(X509Certificate[]::new), node.nodeKey());
        assertThat(p.name()).isEqualTo("alice");

        Run toStdout = run(
                "ca",
                "issue",
                "--ca-dir",
                ca.toString(),
                "--node",
                node.nodeKey().nodeId(),
                "--name",
                "alice");
        List<X509Certificate> chain = Pem.decodeCertificates(toStdout.out());
        assertThat(chain).hasSize(2);

        assertThat(run("ca", "issue", "--ca-dir", ca.toString(), "--node", "typo", "--name", "a")
                        .exit())
                .isEqualTo(2);
        assertThat(run(
                                "ca",
                                "issue",
                                "--ca-dir",
                                ca.toString(),
                                "--node",
                                node.nodeKey().nodeId(),
                                "--name",
                                "A B")
                        .exit())
                .isEqualTo(2);
        assertThat(run(
                                "ca",
                                "issue",
                                "--ca-dir",
                                ca.toString(),
                                "--node",
                                node.nodeKey().nodeId(),
                                "--name",
                                "a",
                                "--days",
                                "0")
                        .exit())
                .isEqualTo(2);
        assertThat(run(
                                "ca",
                                "issue",
                                "--ca-dir",
                                tmp.resolve("none").toString(),
                                "--node",
                                node.nodeKey().nodeId(),
                                "--name",
                                "a")
                        .err())
                .contains("burrow ca init");
    }

    @Test
    void tokenCreateListRevoke() throws Exception {
        Path ca = tmp.resolve("ca");
        assertThat(run("ca", "init", "--ca-dir", ca.toString()).exit()).isZero();
        Run create = run("token", "create", "--ca-dir", ca.toString(), "--tag", "dev", "--uses", "1", "--ttl", "1h");
        assertThat(create.exit()).as(create.err()).isZero();
        String token = create.out().strip();
        assertThat(token).startsWith("bjt1.");
        String secret = token.substring(token.lastIndexOf('.') + 1);
        String id = token.split("\\.")[1];

        Run list = run("token", "list", "--ca-dir", ca.toString());
        assertThat(list.out()).contains(id).contains("active").contains("dev").doesNotContain(secret);

        assertThat(run("token", "revoke", "--ca-dir", ca.toString(), id).exit()).isZero();
        assertThat(run("token", "list", "--ca-dir", ca.toString()).out()).contains("revoked");
        Run missing = run("token", "revoke", "--ca-dir", ca.toString(), "aaaaaaaaaaaaaaaa");
        assertThat(missing.exit()).isEqualTo(1);
        // pasting the whole token revokes by its id and never echoes the secret
        String other = run("token", "create", "--ca-dir", ca.toString()).out().strip();
        Run pasted = run("token", "revoke", "--ca-dir", ca.toString(), other);
        assertThat(pasted.exit()).isZero();
        assertThat(pasted.out() + pasted.err()).doesNotContain(other.substring(other.lastIndexOf('.') + 1));
        assertThat(JoinTokenStore.open(ca, Clock.systemUTC()).list()).allMatch(JoinTokenStore.TokenInfo::revoked);

        assertThat(run("token", "create", "--ca-dir", ca.toString(), "--ttl", "1x")
                        .exit())
                .isEqualTo(2);
        assertThat(run("token", "create", "--ca-dir", ca.toString(), "--uses", "0")
                        .exit())
                .isEqualTo(2);
        assertThat(run("token", "create", "--ca-dir", ca.toString(), "--uses", "2", "--name", "n")
                        .exit())
                .isEqualTo(2);
        assertThat(run("token", "create", "--ca-dir", ca.toString(), "--tag", "BAD")
                        .exit())
                .isEqualTo(2);
        assertThat(run("token", "revoke", "--ca-dir", ca.toString(), "not-an-id")
                        .exit())
                .isEqualTo(2);
    }
}
