package dev.burrow.dataplane;

import static org.awaitility.Awaitility.await;

import dev.burrow.e2e.BurrowProcess;
import dev.burrow.fault.Transfer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Echo transfers ({@link Transfer}: SHA-256 of every byte out against every byte back) running on a
 * forward port while a test does something to the processes, and what became of each; plus the file
 * descriptor and thread counts of processes that must survive a fault.
 */
final class Streams implements AutoCloseable {
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "dataplane-transfer");
        t.setDaemon(true);
        return t;
    });
    private final List<Transfer> transfers = new ArrayList<>();
    private final List<Future<Transfer.Outcome>> results = new ArrayList<>();

    /** Starts {@code count} transfers of {@code bytes} each way on {@code port}. */
    Streams start(int port, int count, long bytes, long seed) {
        for (int i = 0; i < count; i++) {
            Transfer t = new Transfer(port, bytes, seed + i);
            transfers.add(t);
            results.add(pool.submit(t::run));
        }
        return this;
    }

    /** Waits until every transfer has had at least {@code bytes} echoed back. */
    Streams awaitFlowing(long bytes) {
        await("every transfer carries bytes")
                .atMost(Duration.ofSeconds(120))
                .until(() -> transfers.stream().allMatch(t -> t.received() >= bytes));
        return this;
    }

    /** The outcome of every transfer, in the order started (bounded: a transfer reports a hang itself). */
    List<Transfer.Outcome> outcomes() throws Exception {
        List<Transfer.Outcome> out = new ArrayList<>();
        for (Future<Transfer.Outcome> f : results) {
            out.add(f.get(Transfer.TIMEOUT.toSeconds() * 10, TimeUnit.SECONDS));
        }
        return out;
    }

    @Override
    public void close() {
        pool.shutdownNow();
    }

    // ------------------------------------------------------------------ leak check

    /** Open file descriptors and threads of {@code p}. */
    record Counts(BurrowProcess process, long fds, long threads) {
        static Counts of(BurrowProcess p) {
            return new Counts(p, p.openFileDescriptors(), p.threads());
        }

        /** Waits (bounded) until {@code process} is back within the slack of these counts. */
        void assertSettled(long fdSlack, long threadSlack) {
            if (fds < 0) {
                return; // no /proc here
            }
            System.out.printf(
                    "%s before: %d fds, %d threads; now: %d fds, %d threads%n",
                    process.name, fds, threads, process.openFileDescriptors(), process.threads());
            await(process.name + " returns to its fd and thread counts")
                    .atMost(Duration.ofSeconds(60))
                    .pollInterval(Duration.ofMillis(500))
                    .untilAsserted(() -> {
                        org.assertj.core.api.Assertions.assertThat(process.openFileDescriptors())
                                .as("%s fds (before: %d)", process.name, fds)
                                .isLessThanOrEqualTo(fds + fdSlack);
                        org.assertj.core.api.Assertions.assertThat(process.threads())
                                .as("%s threads (before: %d)", process.name, threads)
                                .isLessThanOrEqualTo(threads + threadSlack);
                    });
        }
    }

    /** A full GC in the child, so that leaked buffers become unreachable and Netty can report them. */
    static void gc(BurrowProcess p) {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        if (!Files.isExecutable(jcmd) || !p.isAlive()) {
            return;
        }
        try {
            Process gc = new ProcessBuilder(jcmd.toString(), String.valueOf(p.pid()), "GC.run")
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .start();
            if (!gc.waitFor(30, TimeUnit.SECONDS)) {
                gc.destroyForcibly();
            }
        } catch (java.io.IOException e) {
            // best effort: a later collection still reports leaks
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
