package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.cli.UsageException;
import dev.burrow.identity.StateDirs;
import java.net.URI;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Mixin: where the relay is, how it is trusted, and which state directory holds this node. */
public final class RelayOptions {
    /** Environment variable with the relay URL (so it need not be typed every time). */
    public static final String RELAY_ENV = "BURROW_RELAY";

    @Option(names = "--relay", paramLabel = "URL",
            description = "Relay URL, https://host[:port] or wss://host[:port]. Env: " + RELAY_ENV + ".")
    String relay;

    @Option(names = "--relay-fingerprint", paramLabel = "sha256:HEX",
            description = "Trust exactly the relay certificate with this fingerprint (development relays).")
    String fingerprint;

    @Option(names = "--relay-ca", paramLabel = "PEM", description = "Trust the CA certificates in this PEM file for the relay.")
    Path relayCa;

    @Option(names = "--relay-mode", paramLabel = "MODE", defaultValue = "auto",
            description = "upgrade, websocket or auto (upgrade, falling back to WebSocket). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(names = "--state", paramLabel = "DIR",
            description = "State directory (node key, certificate, API token). Default: $" + StateDirs.ENV + ", else ~/"
                    + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    public Path stateDir() {
        return StateDirs.resolve(state);
    }

    /** True when the command line names a relay (it then overrides the configuration file's). */
    public boolean given() {
        return relay != null || System.getenv(RELAY_ENV) != null;
    }

    /** The relay settings from the command line (or environment). */
    public AgentConfig.Relay relay() {
        String url = relay != null ? relay : System.getenv(RELAY_ENV);
        if (url == null || url.isBlank()) {
            throw new UsageException("no relay: pass --relay https://host:port (or set " + RELAY_ENV + ")");
        }
        try {
            return new AgentConfig.Relay(URI.create(url.strip()), fingerprint, relayCa, mode);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--relay: " + e.getMessage());
        }
    }
}
