package dev.burrow.dataplane;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A tiny HTTP/1.0 server on loopback (a virtual thread per connection): reads one request, answers
 * {@code 200} with {@link #body(String)} for its path, and closes (HTTP/1.0: the close ends the body).
 */
final class HttpTarget implements AutoCloseable {
    private final ServerSocket server;
    final AtomicLong answered = new AtomicLong();

    HttpTarget() throws IOException {
        server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("dataplane-http-accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    /** The body answered for {@code path}: distinct per path, of a length that varies with it. */
    static String body(String path) {
        StringBuilder b = new StringBuilder("answer for ").append(path).append('\n');
        int repeat = Math.abs(path.hashCode() % 64);
        for (int i = 0; i < repeat; i++) {
            b.append(path).append(' ').append(i).append('\n');
        }
        return b.toString();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            Thread.ofVirtual().start(() -> {
                try (s) {
                    s.setSoTimeout(60_000);
                    String head = readHead(s.getInputStream());
                    String[] requestLine = head.split("\r\n", 2)[0].split(" ");
                    OutputStream out = s.getOutputStream();
                    if (requestLine.length != 3 || !requestLine[0].equals("GET")) {
                        out.write("HTTP/1.0 400 Bad Request\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                        return;
                    }
                    byte[] b = body(requestLine[1]).getBytes(StandardCharsets.UTF_8);
                    out.write(
                            ("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " + b.length + "\r\n\r\n")
                                    .getBytes(StandardCharsets.US_ASCII));
                    out.write(b);
                    out.flush();
                    answered.incrementAndGet();
                } catch (IOException e) {
                    // the client went away; it reports what it saw
                }
            });
        }
    }

    /** The request head up to and without the blank line (at most 8 KiB). */
    static String readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int c;
        while ((c = in.read()) >= 0 && head.size() < 8192) {
            head.write(c);
            byte[] b = head.toByteArray();
            int n = b.length;
            if (n >= 4 && b[n - 4] == '\r' && b[n - 3] == '\n' && b[n - 2] == '\r' && b[n - 1] == '\n') {
                return new String(b, 0, n - 4, StandardCharsets.US_ASCII);
            }
        }
        return head.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
