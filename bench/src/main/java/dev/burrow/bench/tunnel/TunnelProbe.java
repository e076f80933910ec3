package dev.burrow.bench.tunnel;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Targets and probes of {@code bench/tunnel-bench.sh} (issue 4); bulk throughput is iperf3's job.
 *
 * <pre>
 * TunnelProbe serve                                   prints SERVE first=P echo=Q http=R, serves until killed:
 *                                                     P sends one byte on accept (a server that speaks first),
 *                                                     Q echoes everything, R answers one HTTP/1.0 request
 * TunnelProbe ttfb --port P --count 200 --warmup 20   new connection -> first byte, one at a time
 * TunnelProbe pingpong --port Q --count 5000 --warmup 1000 [--size 64]   one connection, one message in flight
 * </pre>
 * The probes print {@code RESULT label=L kind=ttfb|pingpong samples=N p50_us=.. p90_us=.. p99_us=.. max_us=..}.
 */
public final class TunnelProbe {
    private TunnelProbe() {}

    public static void main(String[] args) throws Exception {
        String cmd = args.length > 0 ? args[0] : "";
        int port = 0;
        int count = 200;
        int warmup = 20;
        int size = 64;
        String label = "path";
        for (int i = 1; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--count" -> count = Integer.parseInt(args[i + 1]);
                case "--warmup" -> warmup = Integer.parseInt(args[i + 1]);
                case "--size" -> size = Integer.parseInt(args[i + 1]);
                case "--label" -> label = args[i + 1];
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        switch (cmd) {
            case "serve" -> serve();
            case "ttfb" -> print(label, "ttfb", ttfb(port, count, warmup));
            case "pingpong" -> print(label, "pingpong", pingPong(port, count, warmup, size));
            default -> {
                System.err.println("usage: TunnelProbe serve | ttfb --port P | pingpong --port P");
                System.exit(2);
            }
        }
        System.exit(0);
    }

    static void serve() throws IOException, InterruptedException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        ServerSocket first = new ServerSocket(0, 1024, lo);
        ServerSocket echo = new ServerSocket(0, 1024, lo);
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        pool.submit(() -> accept(first, pool, s -> {
            s.getOutputStream().write('!');
            s.getOutputStream().flush();
            s.getInputStream().transferTo(OutputStream.nullOutputStream()); // until the client closes
        }));
        pool.submit(() -> accept(echo, pool, s -> {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            byte[] buf = new byte[16384];
            int n;
            while ((n = in.read(buf)) > 0) {
                out.write(buf, 0, n);
                out.flush();
            }
        }));
        ServerSocket http = new ServerSocket(0, 1024, lo);
        pool.submit(() -> accept(http, pool, TunnelProbe::http));
        System.out.println("SERVE first=" + first.getLocalPort() + " echo=" + echo.getLocalPort() + " http="
                + http.getLocalPort());
        System.out.flush();
        Thread.currentThread().join();
    }

    /** The HTTP/1.0 response of the {@code http} target (client speaks first). */
    static final byte[] HTTP_RESPONSE =
            "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok".getBytes(StandardCharsets.US_ASCII);

    /** Reads a request head up to the blank line, answers {@link #HTTP_RESPONSE} and closes. */
    private static void http(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        int state = 0;
        int b;
        while (state < 4 && (b = in.read()) >= 0) {
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3))
                    ? state + 1
                    : (b == '\r' ? 1 : 0);
        }
        if (state == 4) {
            s.getOutputStream().write(HTTP_RESPONSE);
            s.getOutputStream().flush();
            s.shutdownOutput();
            in.transferTo(OutputStream.nullOutputStream()); // until the client closes
        }
    }

    interface Conn {
        void handle(Socket s) throws IOException;
    }

    private static Void accept(ServerSocket server, ExecutorService pool, Conn conn) throws IOException {
        while (true) {
            Socket s = server.accept();
            s.setTcpNoDelay(true);
            pool.submit(() -> {
                try (s) {
                    conn.handle(s);
                } catch (IOException ignored) {
                    // the probe closed or reset
                }
                return null;
            });
        }
    }

    /** Connect, read the first byte, close: one connection at a time. */
    static long[] ttfb(int port, int count, int warmup) throws IOException {
        long[] samples = new long[count];
        InetSocketAddress target = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);
        for (int i = 0; i < warmup + count; i++) {
            long t0 = System.nanoTime();
            try (Socket s = new Socket()) {
                s.setTcpNoDelay(true);
                s.setSoTimeout(30_000);
                s.connect(target, 30_000);
                int b = s.getInputStream().read();
                long t = System.nanoTime() - t0;
                if (b != '!') {
                    throw new IOException("expected the target's first byte, got " + b);
                }
                if (i >= warmup) {
                    samples[i - warmup] = t;
                }
            }
        }
        return samples;
    }

    /** One connection, {@code size} bytes out and back, one exchange in flight. */
    static long[] pingPong(int port, int count, int warmup, int size) throws IOException {
        long[] samples = new long[count];
        byte[] msg = new byte[size];
        byte[] back = new byte[size];
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(30_000);
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 30_000);
            OutputStream out = s.getOutputStream();
            InputStream in = s.getInputStream();
            for (int i = 0; i < warmup + count; i++) {
                long t0 = System.nanoTime();
                out.write(msg);
                out.flush();
                if (in.readNBytes(back, 0, size) != size) {
                    throw new IOException("connection ended during ping-pong");
                }
                long t = System.nanoTime() - t0;
                if (i >= warmup) {
                    samples[i - warmup] = t;
                }
            }
        }
        return samples;
    }

    static void print(String label, String kind, long[] nanos) {
        long[] s = nanos.clone();
        Arrays.sort(s);
        System.out.printf(
                Locale.ROOT,
                "RESULT label=%s kind=%s samples=%d p50_us=%.1f p90_us=%.1f p99_us=%.1f max_us=%.1f%n",
                label,
                kind,
                s.length,
                pct(s, 50),
                pct(s, 90),
                pct(s, 99),
                s[s.length - 1] / 1000.0);
    }

    private static double pct(long[] sorted, double p) {
        int rank = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] / 1000.0;
    }
}
