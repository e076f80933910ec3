package dev.burrow.agent.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;

/**
 * One HTTP/1.1 GET over a Unix domain socket, answered with {@code Connection: close} (the JDK's
 * HTTP client speaks only TCP). Non-blocking with one deadline for the whole exchange, so an agent
 * that accepts and never answers costs the caller the deadline, not forever.
 */
final class UnixHttp {
    /** The status line and headers of our agent's answer: a few short lines. */
    static final int MAX_HEAD_BYTES = 8 * 1024;

    private UnixHttp() {}

    record Answer(int status, byte[] body) {}

    static Answer get(Path socket, String pathAndQuery, Duration timeout, int maxBodyBytes) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        byte[] request = ("GET " + pathAndQuery + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        ByteArrayOutputStream in = new ByteArrayOutputStream();
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                Selector sel = Selector.open()) {
            try {
                ch.connect(UnixDomainSocketAddress.of(socket)); // blocking: a local connect completes or fails at once
            } catch (SocketException e) {
                throw new IOException("the agent at " + socket + " does not answer (not running?)", e);
            }
            ch.configureBlocking(false);
            ByteBuffer out = ByteBuffer.wrap(request);
            ByteBuffer buf = ByteBuffer.allocate(8192);
            SelectionKey key = ch.register(sel, SelectionKey.OP_WRITE);
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new IOException(
                            "the agent at " + socket + " did not answer within " + timeout.toSeconds() + " s");
                }
                sel.select(Math.max(1, left / 1_000_000));
                sel.selectedKeys().clear();
                if (out.hasRemaining()) {
                    ch.write(out);
                    if (!out.hasRemaining()) {
                        key.interestOps(SelectionKey.OP_READ);
                    }
                    continue;
                }
                int n = ch.read(buf);
                if (n < 0) {
                    break;
                }
                if (n > 0) {
                    in.write(buf.array(), 0, buf.position());
                    buf.clear();
                    if (in.size() > MAX_HEAD_BYTES + maxBodyBytes) {
                        throw new IOException("agent answer too large");
                    }
                }
            }
        }
        return parse(in.toByteArray());
    }

    static Answer parse(byte[] raw) throws IOException {
        int headEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        if (headEnd < 0 || headEnd > MAX_HEAD_BYTES) {
            throw new IOException("the agent's answer is not HTTP");
        }
        String[] lines = new String(raw, 0, headEnd, StandardCharsets.ISO_8859_1).split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
            throw new IOException("the agent's answer is not HTTP");
        }
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (NumberFormatException e) {
            throw new IOException("the agent's answer is not HTTP");
        }
        byte[] body = Arrays.copyOfRange(raw, headEnd + 4, raw.length);
        for (int i = 1; i < lines.length; i++) {
            String l = lines[i].toLowerCase(Locale.ROOT);
            if (l.startsWith("content-length:")) {
                long len;
                try {
                    len = Long.parseLong(l.substring("content-length:".length()).strip());
                } catch (NumberFormatException e) {
                    throw new IOException("the agent's answer is not HTTP");
                }
                if (len < 0 || len > body.length) {
                    throw new IOException("the agent's answer was cut short");
                }
                body = Arrays.copyOf(body, (int) len);
            }
        }
        return new Answer(status, body);
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
