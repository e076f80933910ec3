package dev.burrow.e2e;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** The local services the exposing agent fronts in the end-to-end tests, all on loopback. */
final class TestTargets implements AutoCloseable {
    static final String WEB_BODY = "hello from alice's web service";
    /** Bytes each way in the bulk test. */
    static final long BULK_BYTES = 1L << 30;

    static final int CHUNK = 64 * 1024;

    /** What the bulk target saw on one connection. */
    record BulkResult(long received, String receivedSha256, long sent, String sentSha256) {}

    final HttpServer web;
    final ServerSocket echo;
    final ServerSocket upper;
    final ServerSocket bulk;
    final ConcurrentLinkedQueue<BulkResult> bulkResults = new ConcurrentLinkedQueue<>();
    /** What went wrong on the bulk target's side, for the test to report. */
    final ConcurrentLinkedQueue<String> bulkErrors = new ConcurrentLinkedQueue<>();

    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "e2e-target");
        t.setDaemon(true);
        return t;
    });

    TestTargets() throws IOException {
        InetAddress lo = InetAddress.getLoopbackAddress();
        web = HttpServer.create(new InetSocketAddress(lo, 0), 64);
        web.createContext("/", ex -> {
            byte[] b = WEB_BODY.getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, b.length);
            ex.getResponseBody().write(b);
            ex.close();
        });
        web.setExecutor(threads);
        web.start();
        echo = serve(lo, s -> {
            byte[] buf = new byte[8192];
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                out.write(buf, 0, n);
            }
            s.shutdownOutput();
        });
        // Answers only after the client's EOF: proves half-close travels end to end.
        upper = serve(lo, s -> {
            byte[] all = s.getInputStream().readAllBytes();
            s.getOutputStream()
                    .write(new String(all, StandardCharsets.UTF_8).toUpperCase().getBytes(StandardCharsets.UTF_8));
            s.shutdownOutput();
        });
        // Reads the client's gibibyte to EOF while sending its own: both directions in flight at
        // once and ending together. Any failure on either direction is recorded, not swallowed.
        bulk = serve(lo, s -> {
            var reading = threads.submit(() -> drain(s.getInputStream()));
            String[] sent;
            try {
                sent = send(s.getOutputStream(), BULK_BYTES, 7);
                s.shutdownOutput();
            } catch (Exception e) {
                bulkErrors.add("sending: " + e);
                throw e;
            }
            String[] got;
            try {
                got = reading.get();
            } catch (java.util.concurrent.ExecutionException e) {
                bulkErrors.add("receiving: " + e.getCause());
                throw e;
            }
            bulkResults.add(new BulkResult(Long.parseLong(got[0]), got[1], Long.parseLong(sent[0]), sent[1]));
        });
    }

    interface Conn {
        void handle(Socket s) throws Exception;
    }

    private ServerSocket serve(InetAddress lo, Conn handler) throws IOException {
        ServerSocket ss = new ServerSocket(0, 512, lo);
        threads.submit(() -> {
            while (!ss.isClosed()) {
                Socket s;
                try {
                    s = ss.accept();
                } catch (IOException e) {
                    return;
                }
                threads.submit(() -> {
                    try (s) {
                        handler.handle(s);
                    } catch (Exception ignored) {
                        // the test on the other side reports what went wrong
                    }
                });
            }
        });
        return ss;
    }

    /** Writes {@code total} deterministic bytes; returns {count, sha256}. */
    static String[] send(OutputStream out, long total, long seed) throws Exception {
        byte[] base = new byte[CHUNK];
        new Random(seed).nextBytes(base);
        byte[] chunk = new byte[CHUNK];
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        long sent = 0;
        long index = 0;
        while (sent < total) {
            System.arraycopy(base, 0, chunk, 0, CHUNK);
            for (int i = 0; i < 8; i++) {
                chunk[i] ^= (byte) (index >>> (8 * i)); // every chunk differs: reordering would show
            }
            int n = (int) Math.min(CHUNK, total - sent);
            sha.update(chunk, 0, n);
            out.write(chunk, 0, n);
            sent += n;
            index++;
        }
        out.flush();
        return new String[] {String.valueOf(sent), HexFormat.of().formatHex(sha.digest())};
    }

    /** Reads to EOF; returns {count, sha256}. */
    static String[] drain(InputStream in) throws Exception {
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        byte[] buf = new byte[CHUNK];
        long got = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            sha.update(buf, 0, n);
            got += n;
        }
        return new String[] {String.valueOf(got), HexFormat.of().formatHex(sha.digest())};
    }

    @Override
    public void close() throws IOException {
        web.stop(0);
        echo.close();
        upper.close();
        bulk.close();
        threads.shutdownNow();
    }
}
