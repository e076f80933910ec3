package dev.burrow.identity.token;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.testing.LogCapture;
import dev.burrow.identity.token.InvalidTokenException.Reason;
import dev.burrow.identity.token.JoinTokenStore.CreatedToken;
import dev.burrow.identity.token.JoinTokenStore.TokenGrant;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JoinTokenStoreTest {
    @TempDir
    Path tmp;

    private static void assertRefused(ThrowingCallable call, Reason reason) {
        assertThatThrownBy(call).isInstanceOfSatisfying(InvalidTokenException.class, e -> {
            assertThat(e.reason()).isEqualTo(reason);
            assertThat(e.getMessage()).isEqualTo(InvalidTokenException.MESSAGE);
        });
    }

    @Test
    void tokenFormat() throws Exception {
        JoinToken t = JoinToken.generate();
        String text = t.reveal();
        assertThat(text).matches("bjt1\\.[a-z2-7]{16}\\.[A-Za-z0-9_-]{43}").hasSize(JoinToken.TEXT_LENGTH);
        JoinToken back = JoinToken.parse(" " + text + "\n");
        assertThat(back.id()).isEqualTo(t.id());
        assertThat(back.secretHash()).isEqualTo(t.secretHash());
        assertThat(t.toString()).doesNotContain(text.substring(22));
        for (String bad : new String[] {
            null,
            "",
            "bjt1",
            text + "x",
            text.substring(1),
            "bjt2" + text.substring(4),
            text.replace('.', ':'),
            text.substring(0, 30) + "!" + text.substring(31),
            "x".repeat(100_000)
        }) {
            assertRefused(() -> JoinToken.parse(bad), Reason.MALFORMED);
        }
    }

    @Test
    void oneTimeTokenWorksOnceAndStoresOnlyTheHash() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        CreatedToken created = store.create(Set.of("dev"), 1, Duration.ofHours(1), null);
        String text = created.token().reveal();
        String secret = text.substring(text.lastIndexOf('.') + 1);

        String stored = Files.readString(tmp.resolve(JoinTokenStore.FILE));
        assertThat(stored).contains(created.info().id()).doesNotContain(secret);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(tmp.resolve(JoinTokenStore.FILE))))
                .isEqualTo("rw-------");

        TokenGrant g = store.consume(text);
        assertThat(g.tags()).containsExactly("dev");
        assertThat(g.name()).isNull();
        assertRefused(() -> store.consume(text), Reason.USED_UP);
        assertThat(store.list())
                .singleElement()
                .satisfies(i -> assertThat(i.usesLeft()).isZero());
    }

    @Test
    void multiUseTokenAndFixedName() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        String three =
                store.create(Set.of(), 3, Duration.ofHours(1), null).token().reveal();
        for (int i = 0; i < 3; i++) {
            store.consume(three);
        }
        assertRefused(() -> store.consume(three), Reason.USED_UP);

        String named = store.create(Set.of("db"), 1, Duration.ofHours(1), "alice")
                .token()
                .reveal();
        assertThat(store.consume(named).name()).isEqualTo("alice");
        assertThatThrownBy(() -> store.create(Set.of(), 2, Duration.ofHours(1), "bob"))
                .hasMessageContaining("only once");
        JoinTokenStore.TokenGrant ci = store.consume(store.create(Set.of("ci"), 3, Duration.ofHours(1), null, "ci-")
                .token()
                .reveal());
        assertThat(ci.namePrefix()).isEqualTo("ci-");
        assertThat(ci.name()).isNull();
        assertThatThrownBy(() -> store.create(Set.of(), 1, Duration.ofHours(1), "bob", "ci-"))
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> store.create(Set.of(), 1, Duration.ofHours(1), null, "-ci"))
                .hasMessageContaining("invalid name prefix");
        assertThatThrownBy(() -> store.create(Set.of(), 0, Duration.ofHours(1), null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.create(Set.of(), 1, Duration.ofDays(365), null))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.create(Set.of("Bad Tag"), 1, Duration.ofHours(1), null))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void expiredRevokedUnknownAndWrongSecretAllLookTheSame() throws Exception {
        Instant t0 = Instant.parse("2030-01-01T00:00:00Z");
        JoinTokenStore early = JoinTokenStore.open(tmp, Clock.fixed(t0, ZoneOffset.UTC));
        String expiring =
                early.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        String revoked =
                early.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        String revokedId = JoinToken.parse(revoked).id();
        assertThat(early.revoke(revokedId)).isTrue();
        assertThat(early.revoke("aaaaaaaaaaaaaaaa")).isFalse();

        JoinTokenStore later = JoinTokenStore.open(tmp, Clock.fixed(t0.plus(Duration.ofHours(2)), ZoneOffset.UTC));
        assertRefused(() -> later.consume(expiring), Reason.EXPIRED);
        assertRefused(() -> early.consume(revoked), Reason.REVOKED);
        assertRefused(() -> early.consume(JoinToken.generate().reveal()), Reason.UNKNOWN);
        // right id, wrong secret
        String wrongSecret = expiring.substring(0, expiring.lastIndexOf('.') + 1) + "A".repeat(43);
        assertRefused(() -> early.consume(wrongSecret), Reason.BAD_SECRET);
    }

    @Test
    void secretComparisonIsConstantTimeAndLengthSafe() throws Exception {
        // timing of secret comparisons: secrets differing at the first and at the last byte, and wrong lengths, are
        // refused the
        // same way and without any exception other than the typed one.
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        JoinToken t = store.create(Set.of(), 5, Duration.ofHours(1), null).token();
        byte[] secret =
                Base64.getUrlDecoder().decode(t.reveal().substring(t.reveal().lastIndexOf('.') + 1));
        for (int pos : new int[] {0, 31}) {
            byte[] s = secret.clone();
            s[pos] ^= 1;
            String text = "bjt1." + t.id() + "."
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(s);
            assertRefused(() -> store.consume(text), Reason.BAD_SECRET);
        }
        for (int len : new int[] {0, 16, 31, 33, 64}) {
            String text = "bjt1." + t.id() + "."
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(new byte[len]);
            assertRefused(() -> store.consume(text), Reason.MALFORMED);
        }
        assertThat(t.matches(new byte[0])).isFalse();
        assertThat(t.matches(new byte[31])).isFalse();
        assertThat(t.matches(null)).isFalse();
        assertThat(t.matches(t.secretHash())).isTrue();
        // the good token still has all its uses
        assertThat(store.list().get(0).usesLeft()).isEqualTo(5);
    }

    @Test
    void oneTimeTokenRaceSucceedsExactlyOnce() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        for (int round = 0; round < 5; round++) {
            String text =
                    store.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
            int threads = 16;
            CountDownLatch ready = new CountDownLatch(threads);
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> futures = new ArrayList<>();
                for (int i = 0; i < threads; i++) {
                    // each caller opens its own store object, as separate requests would
                    futures.add(pool.submit(() -> {
                        JoinTokenStore own = JoinTokenStore.open(tmp, Clock.systemUTC());
                        ready.countDown();
                        go.await(10, TimeUnit.SECONDS);
                        try {
                            own.consume(text);
                            ok.incrementAndGet();
                        } catch (InvalidTokenException e) {
                            assertThat(e.reason()).isEqualTo(Reason.USED_UP);
                            refused.incrementAndGet();
                        }
                        return null;
                    }));
                }
                assertThat(ready.await(10, TimeUnit.SECONDS)).isTrue();
                go.countDown();
                for (Future<?> f : futures) {
                    f.get(30, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            assertThat(ok.get()).isEqualTo(1);
            assertThat(refused.get()).isEqualTo(threads - 1);
        }
    }

    @Test
    void oneTimeTokenRaceAcrossProcessesSucceedsExactlyOnce() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        String text =
                store.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        Path go = tmp.resolve("go");
        String javaBin = ProcessHandle.current()
                .info()
                .command()
                .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        List<Process> children = new ArrayList<>();
        try {
            for (int i = 0; i < 3; i++) {
                Process p = new ProcessBuilder(
                                javaBin,
                                "-cp",
                                System.getProperty("java.class.path"),
                                ConsumeTokenMain.class.getName(),
                                tmp.toString(),
                                go.toString())
                        .redirectError(ProcessBuilder.Redirect.DISCARD)
                        .start();
                p.getOutputStream().write(text.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                p.getOutputStream().close();
                children.add(p);
            }
            List<java.io.BufferedReader> outs = new ArrayList<>();
            for (Process p : children) {
                java.io.BufferedReader r = new java.io.BufferedReader(
                        new java.io.InputStreamReader(p.getInputStream(), java.nio.charset.StandardCharsets.US_ASCII));
                assertThat(resultLine(r)).isEqualTo("READY");
                outs.add(r);
            }
            Files.createFile(go);
            int ok = 0;
            for (int i = 0; i < children.size(); i++) {
                assertThat(children.get(i).waitFor(60, TimeUnit.SECONDS)).isTrue();
                String line = resultLine(outs.get(i));
                if ("OK".equals(line)) {
                    ok++;
                } else {
                    assertThat(line).isEqualTo("REFUSED USED_UP");
                }
            }
            assertThat(ok).isEqualTo(1);
        } finally {
            children.forEach(Process::destroyForcibly);
        }
    }

    /** The next protocol line of a child, skipping its log output (bounded by the child's output). */
    private static String resultLine(java.io.BufferedReader r) throws java.io.IOException {
        String line;
        while ((line = r.readLine()) != null) {
            if (line.startsWith(ConsumeTokenMain.PREFIX)) {
                return line.substring(ConsumeTokenMain.PREFIX.length());
            }
        }
        return null;
    }

    @Test
    void tokensNeverAppearInLogsOrExceptions() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        try (LogCapture logs = LogCapture.start()) {
            CreatedToken c = store.create(Set.of("dev"), 1, Duration.ofHours(1), null);
            String text = c.token().reveal();
            String secret = text.substring(text.lastIndexOf('.') + 1);
            store.consume(text);
            List<Throwable> errors = new ArrayList<>();
            for (String attempt : List.of(
                    text,
                    text.substring(0, text.length() - 1) + "x",
                    JoinToken.generate().reveal(),
                    "garbage-" + secret)) {
                try {
                    store.consume(attempt);
                } catch (InvalidTokenException e) {
                    errors.add(e);
                }
            }
            assertThat(errors).hasSize(4);
            for (Throwable e : errors) {
                assertThat(String.valueOf(e)).doesNotContain(secret).doesNotContain(text);
            }
            assertThat(c.toString()).doesNotContain(secret);
            assertThat(logs.text())
                    .contains(c.info().id())
                    .doesNotContain(secret)
                    .doesNotContain(text);
        }
    }

    @Test
    void refusesGroupReadableStore() throws Exception {
        JoinTokenStore store = JoinTokenStore.open(tmp, Clock.systemUTC());
        store.create(Set.of(), 1, Duration.ofHours(1), null);
        Files.setPosixFilePermissions(tmp.resolve(JoinTokenStore.FILE), PosixFilePermissions.fromString("rw-r--r--"));
        assertThatThrownBy(store::list).hasMessageContaining("chmod 600");
    }
}
