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
        assertThatThrownBy(call).isInstanceOfSatisfying(EnrolmentException.class, e -> assertThat(e.reason()).isEqualTo(reason));
    }

    @Test
    void enrolsOverJsonAndNodeInstallsTheChain() throws Exception {
        String token = tokens.create(Set.of("dev", "eu"), 1, Duration.ofHours(1), null).token().reveal();
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
    void tokenNameWinsAndDefaultNameIsDerived() throws Exception {
        String named = tokens.create(Set.of(), 1, Duration.ofHours(1), "db-1").token().reveal();
        NodeIdentity a = NodeIdentity.ephemeral("a");
        assertThat(service.enrol(EnrolmentService.createRequest(a, named, "other")).name()).isEqualTo("db-1");

        String unnamed = tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        NodeIdentity b = NodeIdentity.ephemeral("b");
        assertThat(service.enrol(EnrolmentService.createRequest(b, unnamed, null)).name()).isEqualTo("node-" + b.nodeKey().shortId());
    }

    @Test
    void badProofDoesNotBurnTheToken() throws Exception {
        String token = tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        NodeIdentity node = NodeIdentity.ephemeral("n");
        NodeIdentity thief = NodeIdentity.ephemeral("t");
        EnrolmentRequest good = EnrolmentService.createRequest(node, token, "n1");
        // K claimed, K' signed
        EnrolmentRequest forged = new EnrolmentRequest(token, node.nodeKey().nodeId(),
                EnrolmentService.createRequest(thief, token, "n1").proof(), "n1");
        assertRefused(() -> service.enrol(forged), Reason.BAD_PROOF);
        // a proof is bound to the name and the token
        assertRefused(() -> service.enrol(new EnrolmentRequest(token, good.nodeId(), good.proof(), "n2")), Reason.BAD_PROOF);
        String other = tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        assertRefused(() -> service.enrol(new EnrolmentRequest(other, good.nodeId(), good.proof(), "n1")), Reason.BAD_PROOF);
        // invalid key
        assertRefused(() -> service.enrol(new EnrolmentRequest(token, dev.burrow.identity.NodeKey.of(new byte[32]).nodeId(),
                good.proof(), "n1")), Reason.INVALID_KEY);
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
        String token = tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
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
        String token = tokens.create(Set.of(), 1, Duration.ofHours(1), null).token().reveal();
        String secret = token.substring(token.lastIndexOf('.') + 1);
        try (LogCapture logs = LogCapture.start()) {
            NodeIdentity node = NodeIdentity.ephemeral("n");
            EnrolmentRequest req = EnrolmentService.createRequest(node, token, null);
            assertThat(req.toString()).doesNotContain(secret);
            service.enrol(req);
            List<Exception> errors = new java.util.ArrayList<>();
            for (String body : List.of("{\"token\":\"" + token + "\",\"nodeId\":5}", "{\"token\":\"" + token + "\"",
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
