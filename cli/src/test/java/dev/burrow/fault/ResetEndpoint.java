package dev.burrow.fault;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;

/**
 * Lab program: one end of a stream that ends with a reset while the other end reads slowly, for the
 * reset tests on the direct path (the two ends run in different network namespaces, so they are
 * processes that print what they saw). Both ends share the seeded {@link StreamBytes}; times are
 * wall-clock milliseconds (one kernel clock for every namespace).
 *
 * <ul>
 *   <li>{@code serve HOST:PORT BYTES SEED}: a target. Each connection's first byte says what to do:
 *       {@code W} write BYTES then reset (prints {@code RESET_SENT <ms>}); {@code S} read slowly
 *       (prints {@code READER_END ...}); {@code F} write 4 KiB and close normally (a warm-up).
 *   <li>{@code fetch-slow HOST:PORT BYTES SEED}: asks for {@code W} and reads slowly; prints
 *       {@code READER_END <EOF|RESET|ERROR> received=<n> mismatch=<pos or -1> at=<ms>}.
 *   <li>{@code send-reset HOST:PORT BYTES SEED}: asks for {@code S}, writes BYTES then resets;
 *       prints {@code RESET_SENT <ms>}.
 *   <li>{@code warm HOST:PORT}: asks for {@code F}; prints {@code WARM <bytes>}, exit 1 on failure.
 * </ul>
 */
public final class ResetEndpoint {
    /** The slow reader: this many bytes, then a pause (as in {@link ResetPropagationFaultCases}). */
    static final int SLOW_CHUNK = 8 * 1024;

    static final long SLOW_PAUSE_MILLIS = 2;
    /** A reader that has seen no end after this long reports ERROR (the test then fails with the output). */
    static final long READER_GIVES_UP_SECONDS = 120;

    private ResetEndpoint() {}

    public static void main(String[] args) throws Exception {
        String[] hp = args[1].split(":");
        InetSocketAddress at = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
        long bytes = args.length > 2 ? Long.parseLong(args[2]) : 0;
        long seed = args.length > 3 ? Long.parseLong(args[3]) : 0;
        switch (args[0]) {
            case "serve" -> serve(at, bytes, seed);
            case "fetch-slow" -> {
                try (Socket s = connect(at)) {
                    s.getOutputStream().write('W');
                    s.getOutputStream().flush();
                    report(StreamProbe.startReading(s, new StreamBytes(seed), SLOW_CHUNK, SLOW_PAUSE_MILLIS));
                }
            }
            case "send-reset" -> {
                Socket s = connect(at);
                s.getOutputStream().write('S');
                StreamProbe.writeThenEnd(s, new StreamBytes(seed), bytes, true);
                say("RESET_SENT " + System.currentTimeMillis());
            }
            case "warm" -> {
                try (Socket s = connect(at)) {
                    s.getOutputStream().write('F');
                    s.getOutputStream().flush();
                    long n = s.getInputStream().transferTo(OutputStream.nullOutputStream());
                    say("WARM " + n);
                    System.exit(n == 4096 ? 0 : 1);
                } catch (Exception e) {
                    say("WARM failed " + e);
                    System.exit(1);
                }
            }
            default -> throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    private static void serve(InetSocketAddress at, long bytes, long seed) throws Exception {
        try (ServerSocket ss = new ServerSocket()) {
            ss.bind(at);
            say("reset endpoint listening on " + ss.getLocalSocketAddress());
            while (true) {
                Socket s = ss.accept();
                Thread.ofVirtual().start(() -> {
                    try {
                        InputStream in = s.getInputStream();
                        int what = in.read();
                        switch (what) {
                            case 'W' -> {
                                StreamProbe.writeThenEnd(s, new StreamBytes(seed), bytes, true);
                                say("RESET_SENT " + System.currentTimeMillis());
                            }
                            case 'S' -> {
                                report(StreamProbe.startReading(
                                        s, new StreamBytes(seed), SLOW_CHUNK, SLOW_PAUSE_MILLIS));
                                s.close();
                            }
                            case 'F' -> {
                                try (s) {
                                    s.getOutputStream().write(new byte[4096]);
                                }
                            }
                            default -> s.close();
                        }
                    } catch (Exception e) {
                        say("connection failed: " + e);
                    }
                });
            }
        }
    }

    private static void report(StreamProbe.Reading r) throws InterruptedException {
        r.await(READER_GIVES_UP_SECONDS);
        say("READER_END " + (r.ended() ? r.end : StreamProbe.End.ERROR) + " received=" + r.received + " mismatch="
                + r.mismatchAt + " at=" + System.currentTimeMillis() + " detail=" + r.detail.replace(' ', '_'));
    }

    private static Socket connect(InetSocketAddress at) throws Exception {
        Socket s = new Socket();
        s.connect(at, 10_000);
        return s;
    }

    private static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }
}
