package dev.burrow.relay.server.net;

import dev.burrow.identity.enrol.EnrolmentException;
import dev.burrow.identity.enrol.EnrolmentMessages;
import dev.burrow.identity.enrol.EnrolmentService;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link EnrolmentService} over HTTP. The service takes a file lock and writes the token
 * store, so it runs on its own small thread pool, never on an event loop; the pool's queue is
 * bounded and a full queue answers 503 at once.
 */
public final class EnrolmentEndpoints {
    private static final Logger log = LoggerFactory.getLogger(EnrolmentEndpoints.class);
    /** Enrolment is rare (once per node); two threads and a short queue absorb a fleet rollout. */
    private static final int THREADS = 2;

    private static final int QUEUE = 64;

    private EnrolmentEndpoints() {}

    public static EnrolmentEndpoint of(EnrolmentService service) {
        ExecutorService pool =
                new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), r -> {
                    Thread t = new Thread(r, "relay-enrol");
                    t.setDaemon(true);
                    return t;
                });
        return (body, remote) -> {
            try {
                return CompletableFuture.supplyAsync(
                        () -> {
                            try {
                                byte[] out = service.handle(body);
                                log.atInfo()
                                        .addKeyValue("event", "enrolled")
                                        .addKeyValue("remote", remote)
                                        .log("enrolled");
                                return new EnrolmentEndpoint.Response(200, new String(out, StandardCharsets.UTF_8));
                            } catch (EnrolmentException e) {
                                log.atInfo()
                                        .addKeyValue("event", "enrol_refused")
                                        .addKeyValue("remote", remote)
                                        .addKeyValue("reason", e.reason())
                                        .log("enrol refused");
                                return new EnrolmentEndpoint.Response(
                                        e.httpStatus(),
                                        new String(EnrolmentMessages.encodeError(e), StandardCharsets.UTF_8));
                            }
                        },
                        pool);
            } catch (RejectedExecutionException e) {
                return CompletableFuture.completedFuture(new EnrolmentEndpoint.Response(503, "{\"error\":\"busy\"}"));
            }
        };
    }
}
