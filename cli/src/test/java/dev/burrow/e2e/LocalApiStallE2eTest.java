package dev.burrow.e2e;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.api.ControlApi;
import dev.burrow.agent.api.ControlApiClient;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 14 §2: connections that send half a request and hold it must not stall the agent's local
 * API. A real relay (in this JVM), a real agent (its own JVM, {@code burrow expose}) and the real
 * {@code burrow ready}, {@code status} and {@code whois} processes, while 50 connections to the
 * agent's socket hold partial requests (reopened as the API's deadline closes them).
 */
class LocalApiStallE2eTest {
    static final int HELD = 50;
    /** Bounds for process start-up and answers on a shared CI machine; liveness, not performance. */
    static final Duration STARTUP = Duration.ofSeconds(120);

    static final long COMMAND_TIMEOUT_SECONDS = 60;

    @TempDir
    Path tmp;

    @Test
    void readyStatusAndWhoisAnswerWhileFiftyConnectionsHoldPartialRequests() throws Exception {
        RelayServer relay = RelayServer.builder(RelayConfigLoader.fromMap(Map.of(
                        "listen",
                        "127.0.0.1:0",
                        "admin-listen",
                        "off",
                        "tls.mode",
                        "dev",
                        "tls.dev-dir",
                        tmp.resolve("relay").toString(),
                        "auth.mode",
                        "open",
                        "transport",
                        "nio")))
                .transport(Transport.nio())
                .build()
                .start();
        Path state = tmp.resolve("alice");
        AtomicBoolean stop = new AtomicBoolean();
        List<SocketChannel> held = new ArrayList<>();
        Thread holder = null;
        try (BurrowProcess agent = BurrowProcess.start(
                "local-api-stall-alice",
                Map.of("BURROW_DIRECT", "off"),
                "expose",
                "web",
                "127.0.0.1:9",
                "--allow",
                "tag:nobody",
                "--relay",
                "https://127.0.0.1:" + relay.address().getPort(),
                "--relay-fingerprint",
                relay.tlsFingerprint(),
                "--state",
                state.toString())) {
            await().atMost(STARTUP).ignoreExceptions().until(() -> {
                assertThat(agent.isAlive())
                        .as("agent died: %s", agent.logText())
                        .isTrue();
                return ControlApiClient.forStateDir(state).ready().status() == 200;
            });
            Path socket = state.resolve(ControlApi.SOCKET_FILE);
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)))
                    .isEqualTo("rw-------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
                    .isEqualTo("rwx------");

            synchronized (held) {
                for (int i = 0; i < HELD; i++) {
                    held.add(partialRequest(socket));
                }
            }
            holder = new Thread(() -> keepHolding(socket, held, stop), "partial-request-holder");
            holder.setDaemon(true);
            holder.start();

            // Each command asks with ControlApiClient's 5 s timeout: a stalled API would make it fail
            // ("did not answer within 5 s"), so exit codes and output are the liveness check.
            assertThat(ControlApiClient.forStateDir(state).ready().status()).isEqualTo(200);
            Answer ready = run("local-api-stall-ready", "ready", "--state", state.toString());
            assertThat(ready.exit()).as(ready.output()).isZero();
            assertThat(ready.output()).contains("ready");

            Answer status = run("local-api-stall-status", "status", "--state", state.toString());
            assertThat(status.exit()).as(status.output()).isZero();
            assertThat(status.output()).contains("connected");

            Answer whois = run("local-api-stall-whois", "whois", "127.0.0.1:9", "--state", state.toString());
            assertThat(whois.exit()).as(whois.output()).isEqualTo(1);
            assertThat(whois.output()).contains(ControlApi.NO_SUCH_CONNECTION);

            synchronized (held) {
                assertThat(held).hasSize(HELD); // the pressure was on throughout
            }
        } finally {
            stop.set(true);
            if (holder != null) {
                holder.join(10_000);
            }
            synchronized (held) {
                for (SocketChannel ch : held) {
                    ch.close();
                }
            }
            relay.close();
        }
    }

    private record Answer(int exit, String output) {}

    private static Answer run(String name, String... args) throws IOException, InterruptedException {
        try (BurrowProcess p = BurrowProcess.start(name, args)) {
            assertThat(p.process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS))
                    .as("%s hung: %s", name, p.logText())
                    .isTrue();
            return new Answer(p.process.exitValue(), p.logText());
        }
    }

    private static SocketChannel partialRequest(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(UnixDomainSocketAddress.of(socket));
        ch.write(ByteBuffer.wrap("GET /v1/rea".getBytes(StandardCharsets.US_ASCII)));
        ch.configureBlocking(false);
        return ch;
    }

    /** Replaces every held connection the agent closed (its deadline) with a new partial one. */
    private static void keepHolding(Path socket, List<SocketChannel> held, AtomicBoolean stop) {
        ByteBuffer sink = ByteBuffer.allocate(256);
        while (!stop.get()) {
            synchronized (held) {
                for (int i = 0; i < held.size(); i++) {
                    try {
                        sink.clear();
                        if (held.get(i).read(sink) < 0) {
                            held.get(i).close();
                            held.set(i, partialRequest(socket));
                        }
                    } catch (IOException e) {
                        try {
                            held.get(i).close();
                            held.set(i, partialRequest(socket));
                        } catch (IOException again) {
                            // the agent is going away: the assertions above report what matters
                        }
                    }
                }
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
        }
    }
}
