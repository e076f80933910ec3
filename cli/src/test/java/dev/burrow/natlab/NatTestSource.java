package dev.burrow.natlab;

import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Random;

/**
 * Lab program: a TCP service that sends every connection {@code bytes} bytes from a fixed seed
 * (optionally paced at {@code bytesPerSecond}), then closes. Args: {@code HOST:PORT BYTES SEED [BYTES_PER_SECOND]}.
 */
public final class NatTestSource {
    private NatTestSource() {}

    public static void main(String[] args) throws Exception {
        String[] hp = args[0].split(":");
        long bytes = Long.parseLong(args[1]);
        long seed = Long.parseLong(args[2]);
        long rate = args.length > 3 ? Long.parseLong(args[3]) : 0;
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])));
            System.out.println("source listening on " + ss.getLocalSocketAddress());
            System.out.flush();
            while (true) {
                Socket s = ss.accept();
                Thread.ofVirtual().start(() -> serve(s, bytes, seed, rate));
            }
        }
    }

    static byte[] data(long bytes, long seed) {
        byte[] d = new byte[(int) bytes];
        new Random(seed).nextBytes(d);
        return d;
    }

    private static void serve(Socket s, long bytes, long seed, long rate) {
        try (s;
                OutputStream out = s.getOutputStream()) {
            byte[] d = data(bytes, seed);
            int chunk = 16 * 1024;
            long start = System.nanoTime();
            for (int off = 0; off < d.length; off += chunk) {
                out.write(d, off, Math.min(chunk, d.length - off));
                if (rate > 0) {
                    long due = start + (long) ((off + chunk) * 1e9 / rate);
                    long wait = due - System.nanoTime();
                    if (wait > 0) {
                        Thread.sleep(wait / 1_000_000, (int) (wait % 1_000_000));
                    }
                }
            }
            out.flush();
        } catch (Exception e) {
            System.out.println("source connection failed: " + e);
        }
    }
}
