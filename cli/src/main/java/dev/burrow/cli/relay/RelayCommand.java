package dev.burrow.cli.relay;

import dev.burrow.cli.common.Addresses;
import dev.burrow.cli.common.CommandFailedException;
import dev.burrow.cli.common.DurationOption;
import dev.burrow.cli.common.TransportOption;
import dev.burrow.cli.common.UsageException;
import dev.burrow.cli.common.UserErrors;
import dev.burrow.identity.StateDirs;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.identity.token.JoinTokenStore;
import dev.burrow.protocol.config.ConfigKey;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.auth.AdmissionFactory;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayConfigLoader;
import dev.burrow.relay.server.config.RelayKeys;
import dev.burrow.relay.server.net.EnrolmentEndpoints;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code burrow relay}: runs a relay. Settings come from {@code --config relay.yaml}, the environment
 * ({@code BURROW_<KEY>}) and the flags below, in increasing precedence, all through
 * {@link RelayConfigLoader}: each flag is the setting of a {@link RelayKeys} key. SIGTERM drains (RESTARTING to every client, readiness false) for up to
 * {@code --drain-grace}, then exits.
 */
@Command(
        name = "relay",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Run a Burrow relay: TLS on one port (HTTP Upgrade and WebSocket), health and metrics on the admin port.",
            "Settings: --config FILE, then BURROW_<KEY> environment variables, then flags (highest).",
            "Example: burrow relay --dev    (self-signed certificate, open admission, loopback)"
        },
        subcommands = {RelayVerifyCommand.class})
public final class RelayCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    TransportOption transport;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            description = "YAML settings (see docs/operations.md). Unknown keys are an error.")
    Path config;

    @Option(
            names = "--dev",
            description = "Development: self-signed certificate (fingerprint printed), open admission unless "
                    + "configured, listeners on 127.0.0.1.")
    boolean dev;

    @Option(
            names = "--listen",
            paramLabel = "HOST:PORT",
            description = "Public TLS listener. Default 0.0.0.0:443 (--dev: 127.0.0.1:8443).")
    String listen;

    @Option(
            names = "--stun-listen",
            paramLabel = "HOST:PORT|off",
            description = "Embedded STUN server (UDP), which agents use to find their public address for direct paths. "
                    + "Default 0.0.0.0:3478 (--dev: 127.0.0.1, a free port); off disables.")
    String stunListen;

    @Option(
            names = "--admin-listen",
            paramLabel = "HOST:PORT|off",
            description = "/healthz, /readyz, /metrics. Default 0.0.0.0:9090 (--dev: 127.0.0.1, any port).")
    String adminListen;

    @Option(
            names = "--relay-id",
            paramLabel = "NAME",
            description = "Name of this relay in SERVER_HELLO. Default: host name.")
    String relayId;

    @Option(names = "--tls-cert", paramLabel = "PEM", description = "Certificate chain (with tls.mode files).")
    Path tlsCert;

    @Option(names = "--tls-key", paramLabel = "PEM", description = "Private key (with tls.mode files).")
    Path tlsKey;

    @Option(
            names = "--auth-mode",
            paramLabel = "MODE",
            description = "open (development only), allow-list, ca or webhook.")
    String authMode;

    @Option(names = "--allow", paramLabel = "NODE_ID", description = "Admit this node (allow-list mode); repeatable.")
    List<String> allow = new ArrayList<>();

    @Option(
            names = "--allow-file",
            paramLabel = "FILE",
            description = "Node IDs to admit, one per line (allow-list mode).")
    Path allowFile;

    @Option(names = "--ca", paramLabel = "PEM", description = "Trusted fleet CA certificate; repeatable.")
    List<Path> ca = new ArrayList<>();

    @Option(
            names = "--require-tag",
            paramLabel = "TAG",
            description = "CA mode: certificates must carry this tag; repeatable.")
    List<String> requiredTags = new ArrayList<>();

    @Option(
            names = "--webhook-url",
            paramLabel = "URL",
            description = "Admission webhook (webhook mode); fails closed.")
    String webhookUrl;

    @Option(
            names = "--mesh-peers",
            paramLabel = "HOST[:PORT],...",
            description =
                    "Sibling relays to mesh with: host names (every A/AAAA record is a relay, e.g. a headless Service) "
                            + "or host:port entries. Env BURROW_MESH_PEERS.")
    String meshPeers;

    @Option(
            names = "--mesh-port",
            paramLabel = "PORT",
            description = "Siblings' port for entries without one. Default: our listen port.")
    String meshPort;

    @Option(
            names = "--mesh-key-file",
            paramLabel = "FILE",
            description =
                    "Shared mesh key: 64 hex characters. Without a usable key meshing stays off. Env BURROW_MESH_KEY_FILE.")
    Path meshKeyFile;

    @Option(
            names = "--set",
            paramLabel = "KEY=VALUE",
            description = "Any other setting, e.g. --set limits.max-clients=5000; repeatable.")
    List<String> settings = new ArrayList<>();

    @Option(
            names = "--drain-grace",
            paramLabel = "DURATION",
            defaultValue = "${env:BURROW_DRAIN_GRACE:-25s}",
            description =
                    "On SIGTERM, how long clients get to move away. Env BURROW_DRAIN_GRACE. Default ${DEFAULT-VALUE} "
                            + "(--dev without --mesh-peers: none, it closes at once).")
    String drainGrace;

    @Option(
            names = "--enrol-ca-dir",
            paramLabel = "DIR",
            defaultValue = "${env:BURROW_ENROL_CA_DIR}",
            description =
                    "Serve enrolment (join token -> certificate) from this fleet CA directory. Env BURROW_ENROL_CA_DIR.")
    Path enrolCaDir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Map<String, String> flags = flags();
        RelayConfig cfg;
        try {
            cfg = RelayConfigLoader.load(config, System.getenv(), flags, dev);
        } catch (RelayConfigLoader.ConfigException e) {
            throw new UsageException(e.getMessage());
        }
        Duration grace = drainGrace(cfg);
        RelayServer.Builder builder = RelayServer.builder(cfg);
        if (spec.commandLine().getParseResult().hasMatchedOption("--transport")) {
            builder.transport(transport.select()); // the flag beats the file's and the environment's transport
        }
        if (enrolCaDir != null) {
            FleetCa fleet = FleetCa.load(enrolCaDir, Clock.systemUTC());
            JoinTokenStore tokens = JoinTokenStore.open(enrolCaDir, Clock.systemUTC());
            EnrolmentService enrolment = new EnrolmentService(fleet, tokens, EnrolmentService.DEFAULT_VALIDITY);
            builder.enrolment(EnrolmentEndpoints.of(enrolment));
            builder.nameHolders(enrolment.names()::holder); // names resolve only to the key the CA gave them to
        }
        RelayServer relay;
        try {
            relay = builder.build().start();
        } catch (AdmissionFactory.AuthConfigException e) {
            throw new UsageException(e.getMessage());
        } catch (Exception e) {
            throw bindProblem(cfg, e);
        }
        Thread hook = new Thread(() -> relay.drain(grace).join(), "relay-drain-on-signal");
        Runtime.getRuntime().addShutdownHook(hook);

        String url = "https://" + hostForUrl(relay) + ":" + relay.address().getPort();
        out.println("burrow relay listening on " + Addresses.text(relay.address())
                + (relay.adminAddress() == null ? "" : ", admin http://" + Addresses.text(relay.adminAddress()))
                + (relay.stunAddress() == null ? "" : ", stun udp " + Addresses.text(relay.stunAddress())));
        if (relay.tlsFingerprint() != null && cfg.tls().mode() == RelayConfig.TlsMode.DEV) {
            for (String line : devAgentHints(url, relay.tlsFingerprint())) {
                out.println(line);
            }
        }
        out.flush();
        relay.terminated().join();
        return 0;
    }

    /** A listener that could not bind is named, with the option that moves it (Netty's native error has no address). */
    private static Exception bindProblem(RelayConfig cfg, Exception e) {
        if (!UserErrors.addressInUse(e)) {
            return e;
        }
        String which = UserErrors.taken(cfg.listen(), false)
                ? cfg.listen() + " (--listen)"
                : UserErrors.taken(cfg.adminListen(), false)
                        ? cfg.adminListen() + " (--admin-listen)"
                        : UserErrors.taken(cfg.stunListen(), true)
                                ? cfg.stunListen() + " (--stun-listen, UDP)"
                                : "one of its addresses";
        return new CommandFailedException(
                "the relay cannot listen on " + which.replaceFirst("^/", "")
                        + ": Address already in use: stop the process that holds it (another relay?) or choose another port",
                e);
    }

    /**
     * What a development relay prints for agents: every line is a command that works as printed once
     * the placeholders in angle brackets are filled in (the quick start test runs them).
     */
    static List<String> devAgentHints(String url, String fingerprint) {
        String trust = "--relay " + url + " --relay-fingerprint " + fingerprint;
        return List.of(
                "development certificate " + fingerprint,
                "agents trust this relay with: " + trust,
                "  expose a service:  burrow expose web 127.0.0.1:8080 --allow node:<peer's node ID from 'burrow id'> "
                        + trust,
                "  reach it:          burrow connect <exposing node's ID>/web 9000 " + trust,
                "  or in agent.yaml:  relay: {url: " + url + ", fingerprint: " + fingerprint + "}"
                        + "   then: burrow agent --config agent.yaml");
    }

    /** The flags as settings of {@link RelayKeys}, for the same reader as the file and the environment. */
    private Map<String, String> flags() {
        Map<String, String> f = new LinkedHashMap<>();
        put(f, RelayKeys.LISTEN, listen);
        put(f, RelayKeys.STUN_LISTEN, stunListen);
        put(f, RelayKeys.ADMIN_LISTEN, adminListen);
        put(f, RelayKeys.RELAY_ID, relayId);
        if (tlsCert != null || tlsKey != null) {
            put(f, RelayKeys.TLS_MODE, "files");
        }
        put(f, RelayKeys.TLS_CERT, tlsCert);
        put(f, RelayKeys.TLS_KEY, tlsKey);
        put(f, RelayKeys.AUTH_MODE, authMode);
        put(f, RelayKeys.AUTH_ALLOW, allow);
        put(f, RelayKeys.AUTH_ALLOW_FILE, allowFile);
        put(f, RelayKeys.AUTH_CA, ca);
        put(f, RelayKeys.AUTH_REQUIRED_TAGS, requiredTags);
        put(f, RelayKeys.AUTH_WEBHOOK_URL, webhookUrl);
        put(f, RelayKeys.MESH_PEERS, meshPeers);
        put(f, RelayKeys.MESH_PORT, meshPort);
        put(f, RelayKeys.MESH_KEY_FILE, meshKeyFile);
        for (String s : settings) {
            int eq = s.indexOf('=');
            if (eq <= 0) {
                throw new UsageException("--set expects KEY=VALUE, got '" + s + "'");
            }
            f.put(s.substring(0, eq).strip(), s.substring(eq + 1).strip());
        }
        if (dev && !f.containsKey(RelayKeys.TLS_DEV_DIR.path()) && System.getenv(RelayKeys.TLS_DEV_DIR.env()) == null) {
            // keep the development certificate across restarts so agents keep their pinned fingerprint
            put(f, RelayKeys.TLS_DEV_DIR, StateDirs.resolve(null).resolve("relay-dev-tls"));
        }
        return f;
    }

    /** A flag's value (null: not given); a list flag given several times is one comma-separated value. */
    private static void put(Map<String, String> f, ConfigKey<?> key, Object value) {
        if (value instanceof List<?> list) {
            if (!list.isEmpty()) {
                f.put(
                        key.path(),
                        String.join(",", list.stream().map(String::valueOf).toList()));
            }
        } else if (value != null) {
            f.put(key.path(), value.toString());
        }
    }

    private static String hostForUrl(RelayServer relay) {
        var a = relay.address().getAddress();
        if (a.isAnyLocalAddress()) {
            return "127.0.0.1";
        }
        String h = a.getHostAddress();
        return h.contains(":") ? "[" + h + "]" : h;
    }

    /**
     * The drain grace on SIGTERM. A development relay without siblings has nowhere to send its
     * clients, so waiting for them to move only delays Ctrl-C: it closes at once unless a grace was
     * asked for. Any other relay waits {@code --drain-grace} (clients move to a sibling or to the
     * replacement behind the same address), ending early when the last client has gone.
     */
    private Duration drainGrace(RelayConfig cfg) {
        boolean asked = spec.commandLine().getParseResult().hasMatchedOption("--drain-grace")
                || System.getenv("BURROW_DRAIN_GRACE") != null;
        Duration grace = DurationOption.parse("--drain-grace", drainGrace);
        return dev && !asked && cfg.mesh().peers().isEmpty() ? Duration.ZERO : grace;
    }
}
