package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.testing.LogCapture;
import dev.burrow.identity.testing.TestIdentities;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeIdentityTest {
    @TempDir
    Path tmp;

    @Test
    void createsKeyWithOwnerOnlyPermissionsAndReloadsIt() throws Exception {
        Path state = tmp.resolve("state");
        NodeIdentity first = NodeIdentity.loadOrCreate(state);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(NodeIdentity.KEY_FILE))))
                .isEqualTo("rw-------");
        assertThat(Files.readString(state.resolve(NodeIdentity.KEY_FILE))).startsWith("-----BEGIN PRIVATE KEY-----");
        assertThat(first.certificate().selfSigned()).isTrue();
        assertThat(first.certificate().nodeKey()).isEqualTo(first.nodeKey());

        NodeIdentity second = NodeIdentity.loadOrCreate(state);
        assertThat(second.nodeKey()).isEqualTo(first.nodeKey());
        assertThat(second.certificate().serial()).isEqualTo(first.certificate().serial());
        assertThat(second.publicKey().getEncoded()).isEqualTo(first.publicKey().getEncoded());
        byte[] sig = second.sign("hello".getBytes(StandardCharsets.UTF_8));
        assertThat(Ed25519Keys.verify(first.nodeKey(), "hello".getBytes(StandardCharsets.UTF_8), sig))
                .isTrue();
    }

    @Test
    void refusesKeyFileReadableByOthers() throws Exception {
        Path state = tmp.resolve("state");
        NodeIdentity.loadOrCreate(state);
        Path key = state.resolve(NodeIdentity.KEY_FILE);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(state))
                .isInstanceOf(SecureFiles.InsecureFileException.class)
                .hasMessageContaining("chmod 600")
                .hasMessageContaining(key.toString());
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw----r--"));
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(state))
                .isInstanceOf(SecureFiles.InsecureFileException.class);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        NodeIdentity.loadOrCreate(state);
    }

    @Test
    void concurrentFirstRunsAgreeOnOneKey() throws Exception {
        Path state = tmp.resolve("race");
        int n = 8;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<NodeIdentity>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(pool.submit(() -> {
                    go.await();
                    return NodeIdentity.loadOrCreate(state);
                }));
            }
            go.countDown();
            java.util.Set<NodeKey> keys = new java.util.HashSet<>();
            for (var f : fs) {
                keys.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS).nodeKey());
            }
            assertThat(keys).hasSize(1);
            assertThat(NodeIdentity.load(state).nodeKey())
                    .isEqualTo(keys.iterator().next());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void symlinkedKeyIsJudgedByItsTarget() throws Exception {
        Path real = tmp.resolve("real");
        NodeIdentity created = NodeIdentity.loadOrCreate(real);
        Path linked = tmp.resolve("linked");
        Files.createDirectories(linked);
        Files.createSymbolicLink(linked.resolve(NodeIdentity.KEY_FILE), real.resolve(NodeIdentity.KEY_FILE));
        assertThat(NodeIdentity.loadOrCreate(linked).nodeKey()).isEqualTo(created.nodeKey());
        Files.setPosixFilePermissions(
                real.resolve(NodeIdentity.KEY_FILE), PosixFilePermissions.fromString("rw-rw----"));
        assertThatThrownBy(() -> NodeIdentity.loadOrCreate(linked))
                .isInstanceOf(SecureFiles.InsecureFileException.class);
    }

    @Test
    void loadFailsClearlyWhenMissing() {
        assertThatThrownBy(() -> NodeIdentity.load(tmp.resolve("none"))).hasMessageContaining("no node identity");
    }

    @Test
    void renewsExpiringSelfSignedCertificate() throws Exception {
        Path state = tmp.resolve("state");
        Instant longAgo = Instant.now().minus(Duration.ofDays(400));
        NodeIdentity old = NodeIdentity.loadOrCreate(state, "n1", Clock.fixed(longAgo, ZoneOffset.UTC));
        assertThat(old.certificate().notAfter()).isBefore(Instant.now());
        NodeIdentity now = NodeIdentity.loadOrCreate(state);
        assertThat(now.nodeKey()).isEqualTo(old.nodeKey());
        assertThat(now.certificate().notAfter()).isAfter(Instant.now().plus(Duration.ofDays(300)));
    }

    @Test
    void installsCaIssuedCertificateAndRefusesForeignOnes() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity node = NodeIdentity.loadOrCreate(tmp.resolve("n"));
        X509Certificate cert = ids.ca().issue(node.nodeKey(), "alice", Set.of("dev"), Duration.ofDays(1));
        node.installCertificate(ids.ca().chainFor(cert));
        NodeIdentity reloaded = NodeIdentity.loadOrCreate(tmp.resolve("n"));
        assertThat(reloaded.certificate().name()).isEqualTo("alice");
        assertThat(reloaded.certificate().selfIssued()).isFalse();
        assertThat(reloaded.certificateChain()).hasSize(2);

        X509Certificate other = ids.ca().issue(TestIdentities.randomNodeKey(), "bob", Set.of(), Duration.ofDays(1));
        assertThatThrownBy(() -> node.installCertificate(List.of(other))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void privateKeyNeverLoggedOrPrinted() throws Exception {
        String keyBase64;
        NodeIdentity id;
        try (LogCapture logs = LogCapture.start()) {
            id = NodeIdentity.loadOrCreate(tmp.resolve("s"));
            id.installCertificate(id.certificateChain());
            keyBase64 = Base64.getEncoder().encodeToString(id.privateKey().getEncoded());
            String pem = Files.readString(tmp.resolve("s").resolve(NodeIdentity.KEY_FILE));
            String body = pem.lines().filter(l -> !l.startsWith("-----")).reduce("", String::concat);
            assertThat(logs.text())
                    .contains(id.nodeKey().nodeId())
                    .doesNotContain(keyBase64)
                    .doesNotContain(body)
                    .doesNotContain(body.substring(0, 20));
        }
        assertThat(id.toString())
                .doesNotContain(keyBase64)
                .contains(id.nodeKey().nodeId());
    }

    @Test
    void stateDirDefault() {
        assertThat(StateDirs.defaultStateDir(java.util.Map.of(StateDirs.ENV, "/x/y"), "/home/u"))
                .isEqualTo(Path.of("/x/y"));
        assertThat(StateDirs.defaultStateDir(java.util.Map.of(), "/home/u")).isEqualTo(Path.of("/home/u/.burrow"));
        assertThat(StateDirs.defaultStateDir(java.util.Map.of(StateDirs.ENV, " "), "/home/u"))
                .isEqualTo(Path.of("/home/u/.burrow"));
    }
}
