package dev.burrow.fault;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One transfer through a tunnel to an echo service: writes {@code length} deterministic bytes while
 * reading the echo, and compares SHA-256 of what went out with what came back. The outcome is one of
 * complete (every byte back, digests equal, then EOF), failed cleanly (an I/O error such as a reset,
 * or EOF before {@code length} bytes, after a received prefix whose SHA-256 equals that of the same
 * prefix of what was sent), corrupt (the right length with other bytes, or more bytes than
 * sent) or hung (no byte for {@link #TIMEOUT}). Only the first two are acceptable after a fault.
 */
public final class Transfer {
    /** No byte for this long is a hang, not a clear error. */
    public static final Duration TIMEOUT = Duration.ofSeconds(60);

    static final int CHUNK = 32 * 1024;

    public enum Kind {
        COMPLETE,
        FAILED_CLEANLY,
        CORRUPT,
        HUNG
    }

    public record Outcome(Kind kind, long length, long received, String detail) {}

    private final int port;
    private final long length;
    private final long seed;
    private final AtomicLong received = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private volatile boolean writerDone;
    private volatile String writerError;

    public Transfer(int port, long length, long seed) {
        this.port = port;
        this.length = length;
        this.seed = seed;
    }

    public long received() {
        return received.get();
    }

    public Outcome run() {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout((int) TIMEOUT.toMillis());
            s.setTcpNoDelay(true);
            String[] sentDigest = new String[1];
            IOException[] writeError = new IOException[1];
            Thread writer = Thread.ofVirtual().start(() -> {
                try {
                    sentDigest[0] = write(s.getOutputStream());
                    s.shutdownOutput();
                    writerDone = true;
                } catch (IOException e) {
                    writeError[0] = e;
                    writerError = e.toString();
                }
            });
            MessageDigest sha = sha256();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[CHUNK];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    sha.update(buf, 0, n);
                    received.addAndGet(n);
                }
            } catch (SocketTimeoutException e) {
                return new Outcome(
                        Kind.HUNG,
                        length,
                        received.get(),
                        "no byte for " + TIMEOUT + " from local port " + s.getLocalPort()
                                + "; written " + written.get()
                                + (writerDone
                                        ? ", output shut down"
                                        : writerError != null
                                                ? ", writer failed: " + writerError
                                                : ", writer blocked"));
            } catch (IOException e) {
                return failedCleanlyIfIntact(sha, e.toString());
            } finally {
                s.close(); // unblocks the writer
                writer.join(TIMEOUT.toMillis());
            }
            long got = received.get();
            if (got < length) {
                return failedCleanlyIfIntact(sha, new EOFException("EOF after " + got + " of " + length).toString());
            }
            if (got > length) {
                return new Outcome(Kind.CORRUPT, length, got, "more bytes than sent");
            }
            String back = HexFormat.of().formatHex(sha.digest());
            if (sentDigest[0] == null) {
                // everything came back, so everything was written; only the writer's final shutdown failed
                sentDigest[0] = expectedDigest();
            }
            return back.equals(sentDigest[0])
                    ? new Outcome(Kind.COMPLETE, length, got, "ok")
                    : new Outcome(Kind.CORRUPT, length, got, "SHA-256 differs");
        } catch (IOException e) {
            return new Outcome(Kind.FAILED_CLEANLY, length, received.get(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome(Kind.FAILED_CLEANLY, length, received.get(), "interrupted");
        }
    }

    /**
     * A transfer cut short counts as failed cleanly only when what did arrive is exactly the start of
     * what was sent: SHA-256 of the received prefix against the same-length prefix of the stream.
     */
    private Outcome failedCleanlyIfIntact(MessageDigest receivedSoFar, String detail) {
        long got = received.get();
        if (got > length) {
            return new Outcome(Kind.CORRUPT, length, got, "more bytes than sent, then " + detail);
        }
        String back = HexFormat.of().formatHex(receivedSoFar.digest());
        return back.equals(expectedDigest(got))
                ? new Outcome(Kind.FAILED_CLEANLY, length, got, detail)
                : new Outcome(
                        Kind.CORRUPT,
                        length,
                        got,
                        "the " + got + " bytes received before '" + detail + "' differ from what was sent");
    }

    private String write(OutputStream out) throws IOException {
        MessageDigest sha = sha256();
        byte[] chunk = new byte[CHUNK];
        long sent = 0;
        long index = 0;
        while (sent < length) {
            int n = fill(chunk, index++);
            n = (int) Math.min(n, length - sent);
            sha.update(chunk, 0, n);
            out.write(chunk, 0, n);
            sent += n;
            written.addAndGet(n);
        }
        out.flush();
        return HexFormat.of().formatHex(sha.digest());
    }

    private String expectedDigest() {
        return expectedDigest(length);
    }

    /** SHA-256 of the first {@code prefix} bytes of the stream this transfer sends. */
    String expectedDigest(long prefix) {
        MessageDigest sha = sha256();
        byte[] chunk = new byte[CHUNK];
        long done = 0;
        long index = 0;
        while (done < prefix) {
            int n = (int) Math.min(fill(chunk, index++), prefix - done);
            sha.update(chunk, 0, n);
            done += n;
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    /** Deterministic bytes for chunk {@code index}; every chunk differs, so reordering shows. */
    private int fill(byte[] chunk, long index) {
        Random r = new Random(seed * 31 + index);
        if (index == 0 || (index & 63) == 0) {
            r.nextBytes(chunk);
        } else {
            Arrays.fill(chunk, (byte) r.nextInt());
            for (int i = 0; i < chunk.length; i += 4096) {
                chunk[i] = (byte) (index >>> ((i / 4096) % 8 * 8));
            }
        }
        for (int i = 0; i < 8; i++) {
            chunk[i] ^= (byte) (index >>> (8 * i));
        }
        return chunk.length;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
