package dev.burrow.identity.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IssuedNamesTest {
    @TempDir
    Path tmp;

    private static NodeKey key(String n) {
        return NodeIdentity.ephemeral(n).nodeKey();
    }

    @Test
    void aNameBelongsToOneKeyUntilReleasedOrReplaced() throws Exception {
        IssuedNames names = IssuedNames.open(tmp, Clock.systemUTC());
        NodeKey a = key("a");
        NodeKey b = key("b");
        assertThat(names.claim(a, List.of("web"), false)).isEqualTo("web");
        assertThat(names.claim(a, List.of("web"), false))
                .as("renewal by the same key")
                .isEqualTo("web");
        assertThatThrownBy(() -> names.claim(b, List.of("web"), false))
                .isInstanceOfSatisfying(
                        IssuedNames.NameTakenException.class,
                        e -> assertThat(e.holder()).isEqualTo(a))
                .hasMessageContaining("burrow ca revoke web");
        assertThat(names.holder("web")).contains(a);

        assertThat(names.release("web"))
                .hasValueSatisfying(h -> assertThat(h.key()).isEqualTo(a));
        assertThat(names.holder("web")).isEmpty();
        assertThat(names.claim(b, List.of("web"), false)).isEqualTo("web");
        assertThat(names.claim(a, List.of("web"), true))
                .as("the operator's --replace")
                .isEqualTo("web");
        assertThat(names.holder("web")).contains(a);

        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve(IssuedNames.FILE))))
                .isEqualTo("rw-------");
    }

    @Test
    void firstFreeCandidateIsClaimed() throws Exception {
        IssuedNames names = IssuedNames.open(tmp, Clock.systemUTC());
        names.claim(key("x"), List.of("node-abc"), false);
        NodeKey y = key("y");
        assertThat(names.claim(y, List.of("node-abc", "node-abcdef"), false)).isEqualTo("node-abcdef");
        assertThat(names.claim(y, List.of("node-abc", "node-abcdef"), false))
                .as("already held by the same key")
                .isEqualTo("node-abcdef");
    }

    @Test
    void holderSeesAChangeMadeByAnotherProcess() throws Exception {
        IssuedNames relay = IssuedNames.open(tmp, Clock.systemUTC());
        IssuedNames cli = IssuedNames.open(tmp, Clock.systemUTC()); // e.g. 'burrow ca revoke' in another process
        NodeKey a = key("a");
        relay.claim(a, List.of("web"), false);
        assertThat(relay.holder("web")).contains(a);
        // make sure the modification time differs even on coarse-grained file systems
        Files.setLastModifiedTime(tmp.resolve(IssuedNames.FILE), java.nio.file.attribute.FileTime.fromMillis(0));
        cli.release("web");
        for (int i = 0; i < 100 && relay.holder("web").isPresent(); i++) { // re-read within CHECK_INTERVAL
            Thread.sleep(100);
        }
        assertThat(relay.holder("web")).isEmpty();
    }

    @Test
    void concurrentClaimsAcrossProcessesGiveTheNameToOneKey() throws Exception {
        IssuedNames.open(tmp, Clock.systemUTC());
        Path go = tmp.resolve("go");
        String javaBin = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<Process> children = new java.util.ArrayList<>();
        try {
            List<java.io.BufferedReader> outs = new java.util.ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Process p = new ProcessBuilder(
                                javaBin,
                                "-cp",
                                System.getProperty("java.class.path"),
                                ClaimNameMain.class.getName(),
                                tmp.toString(),
                                go.toString(),
                                "shared")
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                children.add(p);
                outs.add(new java.io.BufferedReader(
                        new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII)));
            }
            for (java.io.BufferedReader r : outs) {
                assertThat(resultLine(r)).isEqualTo("READY");
            }
            Files.createFile(go);
            int ok = 0;
            for (int i = 0; i < children.size(); i++) {
                assertThat(children.get(i).waitFor(60, java.util.concurrent.TimeUnit.SECONDS))
                        .isTrue();
                String line = resultLine(outs.get(i));
                if ("OK".equals(line)) {
                    ok++;
                } else {
                    assertThat(line).isEqualTo("TAKEN");
                }
            }
            assertThat(ok).isEqualTo(1);
            assertThat(IssuedNames.open(tmp, Clock.systemUTC()).list()).hasSize(1);
        } finally {
            children.forEach(Process::destroyForcibly);
        }
    }

    /** The next protocol line of a child, skipping its log output (bounded by the child's output). */
    private static String resultLine(java.io.BufferedReader r) throws java.io.IOException {
        String line;
        while ((line = r.readLine()) != null) {
            if (line.startsWith(ClaimNameMain.PREFIX)) {
                return line.substring(ClaimNameMain.PREFIX.length());
            }
        }
        return null;
    }

    @Test
    void aRecordOthersCanReadIsRefused() throws Exception {
        IssuedNames names = IssuedNames.open(tmp, Clock.systemUTC());
        names.claim(key("a"), List.of("web"), false);
        Files.setPosixFilePermissions(tmp.resolve(IssuedNames.FILE), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(() -> names.claim(key("b"), List.of("db"), false)).hasMessageContaining("chmod 600");
    }
}
