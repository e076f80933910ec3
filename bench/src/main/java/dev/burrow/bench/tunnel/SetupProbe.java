package dev.burrow.bench.tunnel;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Connection-setup probes of {@code bench/setup-bench.sh} (issue 15), against {@link TunnelProbe}'s targets
 * ({@code first}: the target writes one byte on accept; {@code http}: one HTTP/1.0 request and response).
 *
 * <pre>
 * SetupProbe ttfb  --port P --mode first|http --count N [--warmup W] [--rtt-ms R]   new connections one at a time
 * SetupProbe burst --port P --mode first|http --count 100 [--rtt-ms R]              that many at once
 * SetupProbe rate  --port P --workers W --seconds S                                 HTTP connections at saturation
 * </pre>
 * ttfb/burst print {@code RESULT label=L kind=ttfb_MODE|burst_MODE samples=N errors=E p50_ms=.. p99_ms=.. p50_rtt=.. p99_rtt=..}
 * (time from connect() to the first byte of the answer; RTT multiples when {@code --rtt-ms} > 0; an HTTP answer is
 * read to the end and checked). rate prints {@code RESULT label=L kind=rate conns=N errors=E conns_per_s=..}: W
 * workers each open, request, check and close connections in a loop for S seconds.
 */
public final class SetupProbe {
    private static final byte[] REQUEST = "GET / HTTP/1.0\r\nHost: target\r\n\r\n".getBytes(StandardCharsets.US_ASCII);

    private SetupProbe() {}

    public static void main(String[] args) throws Exception {
        String cmd = args.length > 0 ? args[0] : "";
        int port = 0;
        int count = 100;
        int warmup = 0;
        int workers = 8;
        double seconds = 5;
        double rttMs = 0;
        String mode = "first";
        String label = "path";
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--count" -> count = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--workers" -> workers = Integer.parseInt(args[i + 1]);
                case "--seconds" -> seconds = Double.parseDouble(args[i + 1]);
                case "--rtt-ms" -> rttMs = Double.parseDouble(args[i + 1]);
                case "--mode" -> mode = args[i + 1];
                case "--label" -> label = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (!mode.equals("first") && !mode.equals("http")) {
            throw new IllegalArgumentException("--mode first|http");
        }
        InetSocketAddress target = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        switch (cmd) {
            case "ttfb" -> {
                List<Long> samples = new ArrayList<>();
                int errors = 0;
                for (int i = 0; i < warmup + count; i++) {
                    try {
                        long t = once(target, mode);
                        if (i >= warmup) {
                            samples.add(t);
                        }
                    } catch (IOException e) {
                        errors++;
                        System.err.println("ttfb: " + e);
                    }
                }
                print(label, "ttfb_" + mode, samples, errors, rttMs);
            }
            case "burst" -> burst(target, mode, count, label, rttMs);
            case "rate" -> rate(target, workers, seconds, label);
            default -> {
                System.err.println("usage: SetupProbe ttfb|burst|rate --port P ...");
                System.exit(2);
            }
        }
        System.exit(0);
    }

    /** One new connection: nanoseconds from connect() to the answer's first byte; the answer is checked. */
    static long once(InetSocketAddress target, String mode) throws IOException {
        long t0 = System.nanoTime();
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(30_000);
            s.connect(target, 30_000);
            InputStream in = s.getInputStream();
            if (mode.equals("first")) {
                int b = in.read();
                long t = System.nanoTime() - t0;
                if (b != '!') {
                    throw new IOException("expected the target's first byte, got " + b);
                }
                return t;
            }
            s.getOutputStream().write(REQUEST);
            s.getOutputStream().flush();
            int b = in.read();
            long t = System.nanoTime() - t0;
            byte[] rest = in.readAllBytes();
            byte[] all = new byte[rest.length + 1];
            all[0] = (byte) b;
            System.arraycopy(rest, 0, all, 1, rest.length);
            if (b < 0 || !Arrays.equals(all, TunnelProbe.HTTP_RESPONSE)) {
                throw new IOException("wrong HTTP answer (" + (b < 0 ? 0 : all.length) + " bytes)");
            }
            return t;
        }
    }

    private static void burst(InetSocketAddress target, String mode, int count, String label, double rttMs)
            throws Exception {
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Long>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < count; i++) {
                futures.add(pool.submit(() -> {
                    go.await();
                    return once(target, mode);
                }));
            }
            go.countDown();
            List<Long> samples = new ArrayList<>();
            int errors = 0;
            for (Future<Long> f : futures) {
                try {
                    samples.add(f.get());
                } catch (Exception e) {
                    errors++;
                    System.err.println("burst: " + e.getCause());
                }
            }
            print(label, "burst_" + mode, samples, errors, rttMs);
        }
    }

    private static void rate(InetSocketAddress target, int workers, double seconds, String label) throws Exception {
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        long t0 = System.nanoTime();
        long end = t0 + (long) (seconds * 1e9);
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int w = 0; w < workers; w++) {
                pool.submit(() -> {
                    while (System.nanoTime() < end && errors.get() < 1000) { // a broken path fails fast
                        try {
                            once(target, "http");
                            ok.incrementAndGet();
                        } catch (IOException e) {
                            if (errors.incrementAndGet() <= 5) {
                                System.err.println("rate: " + e);
                            }
                        }
                    }
                });
            }
        }
        double elapsed = (System.nanoTime() - t0) / 1e9;
        System.out.printf(
                Locale.ROOT,
                "RESULT label=%s kind=rate conns=%d errors=%d conns_per_s=%.1f%n",
                label,
                ok.get(),
                errors.get(),
                ok.get() / elapsed);
    }

    static void print(String label, String kind, List<Long> nanos, int errors, double rttMs) {
        long[] s = nanos.stream().mapToLong(Long::longValue).sorted().toArray();
        double p50 = pct(s, 50) / 1e6;
        double p99 = pct(s, 99) / 1e6;
        System.out.printf(
                Locale.ROOT,
                "RESULT label=%s kind=%s samples=%d errors=%d p50_ms=%.2f p99_ms=%.2f p50_rtt=%s p99_rtt=%s%n",
                label,
                kind,
                s.length,
                errors,
                p50,
                p99,
                rtt(p50, rttMs),
                rtt(p99, rttMs));
    }

    private static String rtt(double ms, double rttMs) {
        return rttMs > 0 && !Double.isNaN(ms) ? String.format(Locale.ROOT, "%.2f", ms / rttMs) : "-";
    }

    private static double pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank))];
    }
}
