package dev.burrow.identity.enrol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.enrol.EnrolmentException.Reason;
import dev.burrow.identity.testing.LogCapture;
import dev.burrow.identity.testing.TestIdentities;
import dev.burrow.identity.token.JoinTokenStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EnrolmentServiceTest {
    @TempDir
    Path tmp;

    TestIdentities ids;
    JoinTokenStore tokens;
    EnrolmentService service;

    @BeforeEach
    void setUp() throws Exception {
        ids = TestIdentities.create(tmp);
        tokens = JoinTokenStore.open(ids.ca().dir(), Clock.systemUTC());
        service = new EnrolmentService(ids.ca(), tokens, Duration.ofDays(30));
    }

    private static void assertRefused(ThrowingCallable call, Reason reason) {
        assertThatThrownBy(call)
                .isInstanceOfSatisfying(
                        EnrolmentException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    @Test
    void enrolsOverJsonAndNodeInstallsTheChain() throws Exception {
        String token = tokens.create(Set.of("dev", "eu"), 1, Duration.ofHours(1), null)
                .token()
                .reveal();
        NodeIdentity node = NodeIdentity.loadOrCreate(tmp.resolve("node"));
        byte[] body = EnrolmentMessages.encode(EnrolmentService.createRequest(node, token, "alice"));

        EnrolmentResponse resp = EnrolmentMessages.parseResponse(service.handle(body));
        assertThat(resp.name()).isEqualTo("alice");
        assertThat(resp.tags()).containsExactly("dev", "eu");
        List<X509Certificate> chain = EnrolmentService.chainFrom(resp, node.nodeKey());
        node.installCertificate(chain);

        NodeVerifier verifier = ids.verifier();
        VerifiedPeer p = verifier.verify(node.certificateChain().toArray(X509Certificate[]::new), node.nodeKey());
        assertThat(p.name()).isEqualTo("alice");
        assertThat(p.tags()).containsExactlyInAnyOrder("dev", "eu");

        // the token is spent
        NodeIdentity second = NodeIdentity.ephemeral("x");
        assertRefused(() -> service.enrol(EnrolmentService.createRequest(second, token, null)), Reason.TOKEN_REFUSED);
    }

    @Test
    void tokenNameMustMatchAndDefaultNameIsDerived() throws Exception {
        String named =
                tokens.create(Set.of(), 1, Duration.ofHours(1), "db-1").token().reveal();
        NodeIdentity a = NodeIdentity.ephemeral("a");
        assertThatThrownBy(() -> service.enrol(EnrolmentService.createRequest(a, named, "other")))
                .isInstanceOfSatisfying(
                        EnrolmentException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NAME_REFUSED))
                .hasMessageContaining("this join token is for the name 'db-1'");
        // the refusal did not use the token up
        assertThat(service.enrol(EnrolmentService.createRequest(a, named, null)).name())
                .isEqualTo("db-1");

        String unnamed =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        NodeIdentity b = NodeIdentity.ephemeral("b");
        assertThat(service.enrol(EnrolmentService.createRequest(b, unnamed, null))
                        .name())
                .isEqualTo("node-" + b.nodeKey().shortId());
    }

    @Test
    void tagOnlyTokenCannotTakeANameAnotherKeyHolds() throws Exception {
        NodeIdentity bob = NodeIdentity.ephemeral("bob");
        String bobs =
                tokens.create(Set.of(), 1, Duration.ofHours(1), "bob").token().reveal();
        assertThat(service.enrol(EnrolmentService.createRequest(bob, bobs, null))
                        .name())
                .isEqualTo("bob");

        NodeIdentity guest = NodeIdentity.ephemeral("guest");
        String guestToken = tokens.create(Set.of("guest"), 2, Duration.ofHours(1), null)
                .token()
                .reveal();
        assertThatThrownBy(() -> service.enrol(EnrolmentService.createRequest(guest, guestToken, "bob")))
                .isInstanceOfSatisfying(EnrolmentException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.NAME_TAKEN);
                    assertThat(e.httpStatus()).isEqualTo(409);
                })
                .hasMessageContaining("name 'bob' belongs to another node")
                .hasMessageContaining("burrow ca revoke bob");
        assertThat(tokens.list().get(tokens.list().size() - 1).usesLeft())
                .as("a refused name leaves the token's use")
                .isEqualTo(2);

        // a free requested name, and a generated one, are given
        assertThat(service.enrol(EnrolmentService.createRequest(guest, guestToken, "guest-1"))
                        .name())
                .isEqualTo("guest-1");
        // a fixed-name token for a held name is refused too, until the operator releases it
        String second =
                tokens.create(Set.of(), 1, Duration.ofHours(1), "bob").token().reveal();
        NodeIdentity other = NodeIdentity.ephemeral("other");
        assertRefused(() -> service.enrol(EnrolmentService.createRequest(other, second, null)), Reason.NAME_TAKEN);
        assertThat(service.names().release("bob")).isPresent();
        assertThat(service.enrol(EnrolmentService.createRequest(other, second, null))
                        .name())
                .isEqualTo("bob");
        assertThat(service.names().holder("bob")).contains(other.nodeKey());
    }

    @Test
    void renewalBySameKeyKeepsTheName() throws Exception {
        NodeIdentity web = NodeIdentity.ephemeral("web");
        String t1 =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        String t2 =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        assertThat(service.enrol(EnrolmentService.createRequest(web, t1, "web")).name())
                .isEqualTo("web");
        assertThat(service.enrol(EnrolmentService.createRequest(web, t2, "web")).name())
                .isEqualTo("web");
        assertThat(service.names().list())
                .singleElement()
                .satisfies(h -> assertThat(h.key()).isEqualTo(web.nodeKey()));
    }

    @Test
    void prefixTokenAllowsOnlyMatchingNamesAndGeneratesFreeOnes() throws Exception {
        String ci = tokens.create(Set.of("ci"), 5, Duration.ofHours(1), null, "ci-")
                .token()
                .reveal();
        NodeIdentity a = NodeIdentity.ephemeral("a");
        assertThatThrownBy(() -> service.enrol(EnrolmentService.createRequest(a, ci, "web")))
                .isInstanceOfSatisfying(
                        EnrolmentException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NAME_REFUSED))
                .hasMessageContaining("only names starting with 'ci-'");
        assertThat(service.enrol(EnrolmentService.createRequest(a, ci, "ci-runner-1"))
                        .name())
                .isEqualTo("ci-runner-1");
        NodeIdentity b = NodeIdentity.ephemeral("b");
        assertThat(service.enrol(EnrolmentService.createRequest(b, ci, null)).name())
                .isEqualTo("ci-" + b.nodeKey().shortId());
    }

    @Test
    void generatedNameSkipsOneSomebodyElseAskedFor() throws Exception {
        NodeIdentity victim = NodeIdentity.ephemeral("victim");
        NodeIdentity squatter = NodeIdentity.ephemeral("squatter");
        String guest =
                tokens.create(Set.of(), 2, Duration.ofHours(1), null).token().reveal();
        String squatted = "node-" + victim.nodeKey().shortId();
        assertThat(service.enrol(EnrolmentService.createRequest(squatter, guest, squatted))
                        .name())
                .isEqualTo(squatted);
        String generated = service.enrol(EnrolmentService.createRequest(victim, guest, null))
                .name();
        assertThat(generated).startsWith(squatted).isNotEqualTo(squatted);
    }

    @Test
    void concurrentEnrolmentsForOneNameGiveItToOneKey() throws Exception {
        String guest =
                tokens.create(Set.of(), 20, Duration.ofHours(1), null).token().reveal();
        int n = 8;
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<String>> results = new java.util.ArrayList<>();
            java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
            for (int i = 0; i < n; i++) {
                NodeIdentity node = NodeIdentity.ephemeral("n" + i);
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        return service.enrol(EnrolmentService.createRequest(node, guest, "shared"))
                                .nodeId();
                    } catch (EnrolmentException e) {
                        return e.reason().name();
                    }
                }));
            }
            go.countDown();
            List<String> outcomes = new java.util.ArrayList<>();
            for (var f : results) {
                outcomes.add(f.get(30, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertThat(outcomes.stream().filter(o -> !o.equals("NAME_TAKEN"))).hasSize(1);
            assertThat(tokens.list().get(0).usesLeft()).isEqualTo(19);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void badProofDoesNotBurnTheToken() throws Exception {
        String token =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        NodeIdentity node = NodeIdentity.ephemeral("n");
        NodeIdentity thief = NodeIdentity.ephemeral("t");
        EnrolmentRequest good = EnrolmentService.createRequest(node, token, "n1");
        // K claimed, K' signed
        EnrolmentRequest forged = new EnrolmentRequest(
                token,
                node.nodeKey().nodeId(),
                EnrolmentService.createRequest(thief, token, "n1").proof(),
                "n1");
        assertRefused(() -> service.enrol(forged), Reason.BAD_PROOF);
        // a proof is bound to the name and the token
        assertRefused(
                () -> service.enrol(new EnrolmentRequest(token, good.nodeId(), good.proof(), "n2")), Reason.BAD_PROOF);
        String other =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        assertRefused(
                () -> service.enrol(new EnrolmentRequest(other, good.nodeId(), good.proof(), "n1")), Reason.BAD_PROOF);
        // invalid key
        assertRefused(
                () -> service.enrol(new EnrolmentRequest(
                        token, dev.burrow.identity.NodeKey.of(new byte[32]).nodeId(), good.proof(), "n1")),
                Reason.INVALID_KEY);
        // the token still works
        assertThat(service.enrol(good).name()).isEqualTo("n1");
    }

    @Test
    void oversizeAndMalformedBodiesAreRefusedBeforeParsing() {
        byte[] big = new byte[EnrolmentMessages.MAX_REQUEST_BYTES + 1];
        java.util.Arrays.fill(big, (byte) ' ');
        assertRefused(() -> service.handle(big), Reason.TOO_LARGE);
        String deep = "[".repeat(1000) + "]".repeat(1000);
        assertRefused(() -> service.handle(deep.getBytes(StandardCharsets.US_ASCII)), Reason.BAD_REQUEST);
        String nested = "{\"token\":{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}}";
        assertRefused(() -> service.handle(nested.getBytes(StandardCharsets.US_ASCII)), Reason.BAD_REQUEST);
        assertRefused(() -> service.handle("not json".getBytes(StandardCharsets.US_ASCII)), Reason.BAD_REQUEST);
        assertRefused(() -> service.handle("{}".getBytes(StandardCharsets.US_ASCII)), Reason.BAD_REQUEST);
        assertRefused(() -> service.handle("null".getBytes(StandardCharsets.US_ASCII)), Reason.BAD_REQUEST);
        assertRefused(() -> service.handle(new byte[0]), Reason.BAD_REQUEST);
        assertRefused(() -> service.handle(null), Reason.BAD_REQUEST);
        assertRefused(() -> service.enrol(new EnrolmentRequest("t", "x", "!!!", null)), Reason.BAD_REQUEST);
    }

    @Test
    void concurrentEnrolmentWithOneTimeTokenSucceedsOnce() throws Exception {
        String token =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        int n = 8;
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger ok = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            List<java.util.concurrent.Future<?>> fs = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                EnrolmentRequest req = EnrolmentService.createRequest(NodeIdentity.ephemeral("n"), token, null);
                fs.add(pool.submit(() -> {
                    go.await();
                    try {
                        service.enrol(req);
                        ok.incrementAndGet();
                    } catch (EnrolmentException e) {
                        assertThat(e.reason()).isEqualTo(Reason.TOKEN_REFUSED);
                    }
                    return null;
                }));
            }
            go.countDown();
            for (var f : fs) {
                f.get(30, java.util.concurrent.TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(ok.get()).isEqualTo(1);
    }

    @Test
    void tokenNeverInLogsExceptionsOrToString() throws Exception {
        String token =
                tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        String secret = token.substring(token.lastIndexOf('.') + 1);
        try (LogCapture logs = LogCapture.start()) {
            NodeIdentity node = NodeIdentity.ephemeral("n");
            EnrolmentRequest req = EnrolmentService.createRequest(node, token, null);
            assertThat(req.toString()).doesNotContain(secret);
            service.enrol(req);
            List<Exception> errors = new java.util.ArrayList<>();
            for (String body : List.of(
                    "{\"token\":\"" + token + "\",\"nodeId\":5}",
                    "{\"token\":\"" + token + "\"",
                    new String(EnrolmentMessages.encode(req), StandardCharsets.UTF_8))) {
                try {
                    service.handle(body.getBytes(StandardCharsets.UTF_8));
                } catch (EnrolmentException e) {
                    errors.add(e);
                }
            }
            assertThat(errors).hasSize(3);
            for (Exception e : errors) {
                assertThat(e.toString()).doesNotContain(secret);
            }
            assertThat(logs.text()).doesNotContain(secret);
        }
    }
}
