package dev.burrow.fault;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;

/** A loopback echo service (a thread per connection) that half-closes after the client's EOF. */
public final class EchoTarget implements AutoCloseable {
    private final ServerSocket server;

    public EchoTarget() throws IOException {
        server = new ServerSocket(0, 512, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("fault-echo-accept").start(this::acceptLoop);
    }

    public int port() {
        return server.getLocalPort();
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
                    byte[] buf = new byte[32 * 1024];
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        out.write(buf, 0, n);
                    }
                    s.shutdownOutput();
                } catch (IOException e) {
                    // the tunnel went away; the client side reports what it saw
                }
            });
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
