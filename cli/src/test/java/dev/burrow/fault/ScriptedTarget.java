package dev.burrow.fault;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicReference;

/** A loopback target whose behaviour per accepted connection the test sets ({@link #onConnection}). */
final class ScriptedTarget implements AutoCloseable {
    interface Script {
        void run(Socket s) throws Exception;
    }

    private final ServerSocket server;
    private final AtomicReference<Script> script = new AtomicReference<>(s -> s.close());

    ScriptedTarget() throws IOException {
        server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        Thread.ofPlatform().daemon().name("scripted-target-accept").start(this::acceptLoop);
    }

    int port() {
        return server.getLocalPort();
    }

    /** What the target does with each connection from now on (in a thread of its own). */
    void onConnection(Script s) {
        script.set(s);
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                return;
            }
            Script current = script.get();
            Thread.ofPlatform().daemon().name("scripted-target").start(() -> {
                try {
                    current.run(s);
                } catch (Exception e) {
                    // the script records what the test needs; a failed stream is expected here
                }
            });
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
