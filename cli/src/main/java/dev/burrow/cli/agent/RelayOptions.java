package dev.burrow.cli.agent;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.StateDirs;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** Mixin: where the relay is, how it is trusted, and which state directory holds this node. */
public final class RelayOptions {
    /** Environment variable with the relay URL (so it need not be typed every time). */
    public static final String RELAY_ENV = "BURROW_RELAY";

    @Option(
            names = "--relay",
            paramLabel = "URL",
            description =
                    "Relay URL, https://host[:port] or wss://host[:port]; repeat it for a fleet (the agent measures "
                            + "them and picks a home relay, moving when it drains or dies), optionally as REGION=URL. "
                            + "Env: " + RELAY_ENV + " (comma-separated).")
    List<String> relay;

    @Option(
            names = "--relay-fingerprint",
            paramLabel = "sha256:HEX",
            description = "Trust exactly the relay certificate with this fingerprint (development relays).")
    String fingerprint;

    @Option(
            names = "--relay-ca",
            paramLabel = "PEM",
            description = "Trust the CA certificates in this PEM file for the relay.")
    Path relayCa;

    @Option(
            names = "--relay-mode",
            paramLabel = "MODE",
            defaultValue = "auto",
            description = "upgrade, websocket or auto (upgrade, falling back to WebSocket). Default: ${DEFAULT-VALUE}.")
    String mode;

    @Option(
            names = "--state",
            paramLabel = "DIR",
            description = "State directory (node key, certificate, API token). Default: $" + StateDirs.ENV + ", else ~/"
                    + StateDirs.HOME_DIR_NAME + ".")
    Path state;

    public Path stateDir() {
        return StateDirs.resolve(state);
    }

    /** True when the command line names a relay (it then overrides the configuration file's). */
    public boolean given() {
        return (relay != null && !relay.isEmpty()) || System.getenv(RELAY_ENV) != null;
    }

    /** The relay settings from the command line (or environment). */
    public AgentConfig.Relay relay() {
        List<String> urls = new ArrayList<>();
        if (relay != null && !relay.isEmpty()) {
            urls.addAll(relay);
        } else if (System.getenv(RELAY_ENV) != null) {
            urls.addAll(List.of(System.getenv(RELAY_ENV).split(",")));
        }
        urls.removeIf(String::isBlank);
        if (urls.isEmpty()) {
            throw new UsageException("no relay: pass --relay https://host:port (or set " + RELAY_ENV + ")");
        }
        try {
            List<RelayCandidate> candidates = new ArrayList<>();
            for (String u : urls) {
                candidates.add(candidate(u.strip()));
            }
            return new AgentConfig.Relay(null, fingerprint, relayCa, mode, candidates);
        } catch (IllegalArgumentException e) {
            throw new UsageException("--relay: " + e.getMessage());
        }
    }

    /**
     * The relay options a peer needs to reach the same relay, as they would be typed after a command
     * (" --relay URL --relay-fingerprint FP"), so that a printed command works as printed.
     */
    String commandLineTrust(AgentConfig.Relay r) {
        StringBuilder b = new StringBuilder();
        for (RelayCandidate c : r.candidates()) {
            b.append(" --relay ")
                    .append(c.region() == null ? "" : c.region() + "=")
                    .append(c.url());
        }
        if (r.fingerprint() != null) {
            b.append(" --relay-fingerprint ").append(r.fingerprint());
        } else if (r.caFile() != null) {
            b.append(" --relay-ca ").append(r.caFile());
        }
        return b.toString();
    }

    /** {@code URL} or {@code REGION=URL} (a region name has no ':' so it cannot be confused with a URL). */
    static RelayCandidate candidate(String text) {
        int eq = text.indexOf('=');
        int colon = text.indexOf(':');
        if (eq > 0 && (colon < 0 || eq < colon)) {
            return new RelayCandidate(
                    RelayCandidate.parseUrl(text.substring(eq + 1)),
                    text.substring(0, eq).strip());
        }
        return new RelayCandidate(RelayCandidate.parseUrl(text));
    }
}
