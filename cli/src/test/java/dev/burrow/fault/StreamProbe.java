package dev.burrow.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * One end of a stream under a fault, seen from a plain socket: a reader that checks every byte it
 * gets against a {@link StreamBytes} and records how its input ended, and a writer that sends the
 * stream and then ends it with a FIN or a reset (SO_LINGER 0 close).
 */
final class StreamProbe {
    private StreamProbe() {}

    /** How a reader's input ended. */
    enum End {
        EOF,
        RESET,
        ERROR
    }

    /** What a reader saw; filled in by its thread. */
    static final class Reading {
        final CountDownLatch done = new CountDownLatch(1);
        volatile long received;
        /** Stream position of the first byte that differed from what was sent, or -1. */
        volatile long mismatchAt = -1;

        volatile End end;
        volatile String detail = "";
        /** {@link System#nanoTime()} when the input ended. */
        volatile long endedAt;

        boolean ended() {
            return done.getCount() == 0;
        }

        boolean await(long seconds) throws InterruptedException {
            return done.await(seconds, TimeUnit.SECONDS);
        }

        @Override
        public String toString() {
            return "read " + received + " bytes, end " + end + " " + detail
                    + (mismatchAt >= 0 ? ", first wrong byte at " + mismatchAt : "");
        }
    }

    /**
     * Reads {@code s} to its end in a new thread, {@code chunk} bytes at a time with {@code pauseMillis}
     * between reads (a slow reader: the stream backs up behind it).
     */
    static Reading startReading(Socket s, StreamBytes expected, int chunk, long pauseMillis) {
        Reading r = new Reading();
        Thread.ofPlatform().daemon().name("probe-reader").start(() -> {
            byte[] buf = new byte[chunk];
            long position = 0;
            try {
                InputStream in = s.getInputStream();
                int n;
                while ((n = in.read(buf)) >= 0) {
                    int bad = r.mismatchAt < 0 ? expected.firstMismatch(buf, n, position) : -1;
                    if (bad >= 0) {
                        r.mismatchAt = position + bad;
                    }
                    position += n;
                    r.received = position;
                    if (pauseMillis > 0) {
                        Thread.sleep(pauseMillis);
                    }
                }
                r.end = End.EOF;
            } catch (IOException e) {
                String m = String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT);
                r.end = m.contains("reset") ? End.RESET : End.ERROR;
                r.detail = e.toString();
            } catch (InterruptedException e) {
                r.end = End.ERROR;
                r.detail = "interrupted";
            } finally {
                r.endedAt = System.nanoTime();
                r.done.countDown();
            }
        });
        return r;
    }

    /**
     * Writes the first {@code count} bytes of {@code bytes}, then ends the stream: a reset (SO_LINGER 0
     * close) when {@code reset}, else a FIN (shutdown of output; the socket stays open for reading).
     * Between writes it discards whatever input has arrived (a transfer the other way keeps flowing).
     *
     * <p>No other thread may use the socket: the JDK closes a socket that another thread is blocked
     * on in two steps, and the far end then may see something other than the reset the test means.
     *
     * @return {@link System#nanoTime()} right after the end was sent
     */
    static long writeThenEnd(Socket s, StreamBytes bytes, long count, boolean reset) throws IOException {
        OutputStream out = s.getOutputStream();
        InputStream in = s.getInputStream();
        byte[] buf = new byte[32 * 1024];
        byte[] discard = new byte[64 * 1024];
        long position = 0;
        while (position < count) {
            int n = (int) Math.min(buf.length, count - position);
            bytes.fill(buf, 0, n, position);
            out.write(buf, 0, n);
            position += n;
            for (int avail = in.available(); avail > 0; avail = in.available()) {
                if (in.read(discard, 0, Math.min(avail, discard.length)) < 0) {
                    break;
                }
            }
        }
        out.flush();
        if (reset) {
            s.setSoLinger(true, 0);
            s.close();
        } else {
            s.shutdownOutput();
        }
        return System.nanoTime();
    }

    /** What a writer thread saw: the error that stopped it, or null while it runs. */
    static final class Writing {
        volatile String error;

        /** The write failed with ECONNRESET: this socket received a reset. */
        boolean sawReset() {
            return error != null && error.toLowerCase(java.util.Locale.ROOT).contains("reset");
        }
    }

    /**
     * Writes {@code bytes} in a new thread until a write fails (the stream was reset or closed).
     *
     * <p>When another thread reads the same socket, a reset is reported to whichever of the two calls
     * into the kernel first (Linux clears the socket's error once reported), and the other one sees
     * EOF or EPIPE: a reset was seen when either the reader or this writer got ECONNRESET.
     */
    static Writing startWritingUntilError(Socket s, StreamBytes bytes) {
        Writing w = new Writing();
        Thread.ofPlatform().daemon().name("probe-writer").start(() -> {
            byte[] buf = new byte[32 * 1024];
            long position = 0;
            try {
                OutputStream out = s.getOutputStream();
                while (true) {
                    bytes.fill(buf, 0, buf.length, position);
                    out.write(buf);
                    position += buf.length;
                }
            } catch (IOException e) {
                w.error = e.toString();
            }
        });
        return w;
    }
}
