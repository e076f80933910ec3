package dev.burrow.fleet;

import static org.awaitility.Awaitility.await;

import dev.burrow.e2e.AdminMetrics;
import dev.burrow.e2e.BurrowProcess;
import dev.burrow.testing.FreePorts;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Relays as separate {@code burrow relay} processes on loopback, meshed by a static peer list, plus helpers. */
final class FleetProcesses implements AutoCloseable {
    static final Duration STARTUP = Duration.ofSeconds(240);
    static final String KEY =
            "6d657368206b657920666f722074657374733a206e6f74206120736563726574"; // "mesh key for tests: not a secret"
    private static final Pattern FINGERPRINT = Pattern.compile("development certificate (sha256:[0-9a-f]+)");

    final Path tmp;
    final List<BurrowProcess> processes = new ArrayList<>();

    FleetProcesses(Path tmp) {
        this.tmp = tmp;
    }

    /** One relay process. */
    record Relay(String name, int port, int admin, BurrowProcess process, String fingerprint) {
        String url() {
            return "https://127.0.0.1:" + port;
        }
    }

    static int freePort() throws IOException {
        return FreePorts.free(); // below the ephemeral range: see FreePorts
    }

    Path keyFile(String name, String content) throws IOException {
        Path f = tmp.resolve(name);
        Files.writeString(f, content + "\n");
        return f;
    }

    BurrowProcess start(String name, Map<String, String> env, String... args) throws IOException {
        BurrowProcess p = BurrowProcess.start(name, env, args);
        processes.add(p);
        return p;
    }

    /** Starts a relay; returns once it printed its certificate (it is listening then). */
    Relay relay(String name, int port, String peers, Path keyFileOrNull, String... extra) throws IOException {
        int admin = freePort();
        List<String> args = new ArrayList<>(List.of(
                "relay",
                "--dev",
                "--transport",
                "nio",
                "--listen",
                "127.0.0.1:" + port,
                "--admin-listen",
                "127.0.0.1:" + admin,
                "--relay-id",
                name,
                "--set",
                "tls.dev-dir=" + tmp.resolve(name + "-tls"),
                "--set",
                "limits.ip-connect-rate=100000",
                "--set",
                "limits.ip-connect-burst=100000",
                "--set",
                "mesh.resolve-interval=1s",
                "--mesh-peers",
                peers));
        if (keyFileOrNull != null) {
            args.addAll(List.of("--mesh-key-file", keyFileOrNull.toString()));
        }
        args.addAll(List.of(extra));
        BurrowProcess p = start(name, Map.of(), args.toArray(String[]::new));
        String[] fp = new String[1];
        await(name + " started")
                .atMost(STARTUP)
                .pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    if (!p.isAlive()) {
                        if (p.logText().contains("Address already in use")) {
                            throw new PortTaken(name);
                        }
                        throw new AssertionError(name + " exited: " + p.logText());
                    }
                    Matcher m = FINGERPRINT.matcher(p.logText());
                    if (m.find()) {
                        fp[0] = m.group(1);
                        return true;
                    }
                    return false;
                });
        return new Relay(name, port, admin, p, fp[0]);
    }

    /** A relay could not bind its pre-chosen port (another process took it after we picked it). */
    static final class PortTaken extends RuntimeException {
        PortTaken(String name) {
            super(name + ": port taken");
        }
    }

    /** Retries {@code start} with fresh ports when a pre-chosen port was taken; stops what a failed attempt started. */
    <T> T withPorts(int n, PortsSetup<T> start) throws Exception {
        for (int attempt = 1; ; attempt++) {
            int[] ports = new int[n];
            for (int i = 0; i < n; i++) {
                ports[i] = freePort();
            }
            int before = processes.size();
            try {
                return start.start(ports);
            } catch (org.awaitility.core.ConditionTimeoutException | PortTaken e) {
                boolean taken = e instanceof PortTaken || e.getCause() instanceof PortTaken;
                if (!taken || attempt == 5) {
                    throw e;
                }
                while (processes.size() > before) {
                    processes.remove(processes.size() - 1).close();
                }
            }
        }
    }

    interface PortsSetup<T> {
        T start(int[] ports) throws Exception;
    }

    /** The relay's Prometheus text, or "" when it does not answer. */
    static String metrics(Relay r) {
        return AdminMetrics.text(r.admin());
    }

    static double sample(Relay r, String nameAndLabels) {
        return AdminMetrics.sample(r.admin(), nameAndLabels);
    }

    static double meshEvent(Relay r, String event) {
        return AdminMetrics.meshEvent(r.admin(), event);
    }

    static double meshLinks(Relay r) {
        return AdminMetrics.meshLinks(r.admin());
    }

    /** A TCP echo server on loopback, one thread per connection (test sized). */
    static final class Echo implements AutoCloseable {
        final ServerSocket server;

        Echo() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread t = new Thread(
                    () -> {
                        while (!server.isClosed()) {
                            try {
                                Socket s = server.accept();
                                Thread c = new Thread(
                                        () -> {
                                            try (s;
                                                    InputStream in = s.getInputStream();
                                                    OutputStream out = s.getOutputStream()) {
                                                in.transferTo(out);
                                            } catch (IOException ignored) {
                                                // the test closed it
                                            }
                                        },
                                        "echo-conn");
                                c.setDaemon(true);
                                c.start();
                            } catch (IOException e) {
                                return;
                            }
                        }
                    },
                    "echo-accept");
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    /** Connects to {@code port}, sends {@code text}, returns what came back (echo), or throws. */
    static String roundTrip(int port, String text) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(text.getBytes());
            s.getOutputStream().flush();
            byte[] buf = new byte[text.length()];
            int off = 0;
            while (off < buf.length) {
                int n = s.getInputStream().read(buf, off, buf.length - off);
                if (n < 0) {
                    break;
                }
                off += n;
            }
            return new String(buf, 0, off);
        }
    }

    @Override
    public void close() {
        for (BurrowProcess p : processes) {
            p.close();
        }
    }
}
