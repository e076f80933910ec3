package dev.burrow.relay.server.testing;

import dev.burrow.identity.tls.RelayTls;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.transport.Transport;
import io.netty.handler.ssl.SslContext;
import java.util.HashMap;
import java.util.Map;

/** Starts in-process relays for tests: loopback, port 0, dev TLS, open admission, short timeouts. */
public final class TestRelays {
    private TestRelays() {}

    public static Map<String, String> defaults() {
        Map<String, String> m = new HashMap<>();
        m.put("listen", "127.0.0.1:0");
        m.put("admin-listen", "127.0.0.1:0");
        m.put("tls.mode", "dev");
        m.put("auth.mode", "open");
        m.put("relay-id", "test-relay");
        m.put("transport", "nio");
        m.put(
                "timeouts.handshake",
                "15s"); // a cold JVM on a loaded CI machine handshakes slowly; slowloris tests lower it
        m.put("limits.ip-connect-rate", "10000");
        m.put("limits.ip-connect-burst", "10000");
        return m;
    }

    public static RelayConfig config(Map<String, String> overrides) {
        Map<String, String> m = defaults();
        m.putAll(overrides);
        return RelayConfigLoader.fromMap(m);
    }

    public static RelayServer start(Map<String, String> overrides) throws Exception {
        return RelayServer.builder(config(overrides))
                .transport(Transport.nio())
                .build()
                .start();
    }

    public static RelayServer startWith(RelayServer.Builder builder) throws Exception {
        return builder.transport(Transport.nio()).build().start();
    }

    /** A client TLS context pinned to the relay's dev certificate (null when the relay runs without TLS). */
    public static SslContext clientTls(RelayServer relay) throws Exception {
        return relay.tlsFingerprint() == null ? null : RelayTls.clientPinned(relay.tlsFingerprint());
    }
}
