package dev.burrow.cli.relay;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.burrow.cli.common.Addresses;
import dev.burrow.cli.common.CommandFailedException;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.config.Durations;
import dev.burrow.relay.server.auth.AdmissionFactory;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.config.RelayConfigLoader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code burrow relay verify --config relay.yaml}: reads a relay configuration the way {@code burrow
 * relay} would (the file, then {@code BURROW_*} variables), validates it, and prints what the relay
 * would run, without binding or opening anything (with {@code --check-files}, it also reads every
 * file the configuration names). Exit 0 valid, 2 a setting is wrong (the line names the key and the
 * fix), 1 a named file cannot be read.
 */
@Command(
        name = "verify",
        mixinStandardHelpOptions = true,
        description = {
            "Check a relay configuration and print what the relay would run; nothing is started (0 = valid).",
            "Reads the file and BURROW_* environment variables, as 'burrow relay --config FILE' would.",
            "Every key with its default: docs/examples/relay.yaml."
        })
public final class RelayVerifyCommand implements Callable<Integer> {
    /** Where every key is shown with its default and meaning (named in the fix of an unknown key). */
    static final String REFERENCE = "docs/examples/relay.yaml";
    /**
     * Largest edit distance at which an unknown key is taken for a typo of a known one: two catches a
     * dropped, doubled or swapped letter ({@code max-client}, {@code keepalvie}); more suggests
     * unrelated keys.
     */
    static final int MAX_TYPO_DISTANCE = 2;
    /** Configuration files are a page of YAML (the loader's own limit); refuse to parse more here too. */
    private static final long MAX_CONFIG_BYTES = 1024 * 1024;

    @Spec
    CommandSpec spec;

    @Option(
            names = {"-c", "--config"},
            paramLabel = "FILE",
            required = true,
            description = "Relay configuration (YAML).")
    Path config;

    @Option(
            names = "--check-files",
            description = "Also read every file the configuration names (TLS certificate and key, allow-file, CA "
                    + "certificates, mesh key): run it on the relay's host, as the relay's user.")
    boolean checkFiles;

    @Override
    public Integer call() {
        checkKeys(config);
        RelayConfig cfg;
        try {
            cfg = RelayConfigLoader.load(config, System.getenv(), Map.of(), false);
        } catch (RelayConfigLoader.ConfigException e) {
            throw new UsageException(e.getMessage());
        }
        checkAdmission(cfg.auth());
        if (checkFiles) {
            checkFiles(cfg);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println(config + ": valid" + (checkFiles ? " (every named file readable)" : ""));
        for (String line : plan(cfg)) {
            out.println("  " + line);
        }
        out.flush();
        return 0;
    }

    /**
     * Unknown keys, named with the closest known key when one is near (a typo) and where to look
     * otherwise; the loader's own message lists every key, which hides the one that was meant.
     */
    static void checkKeys(Path file) {
        JsonNode root;
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                return; // the loader says so
            }
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readAllBytes(file));
        } catch (IOException e) {
            return; // the loader reports unreadable files and bad YAML with the file name
        }
        if (root == null || !root.isObject()) {
            return;
        }
        List<String> keys = new ArrayList<>();
        flatten("", root, keys);
        for (String key : keys) {
            if (!RelayConfigLoader.KEYS.contains(key)) {
                throw new UsageException(file + ": unknown key '" + key + "': " + fix(key));
            }
        }
    }

    private static void flatten(String prefix, JsonNode node, List<String> out) {
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = prefix + e.getKey();
            if (e.getValue().isObject() && RelayConfigLoader.KEYS.stream().anyMatch(k -> k.startsWith(key + "."))) {
                flatten(key + ".", e.getValue(), out);
            } else {
                out.add(key);
            }
        }
    }

    /** "did you mean X?" for a typo or a key under the wrong section, else where every key is listed. */
    static String fix(String key) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String known : RelayConfigLoader.KEYS) {
            int d = distance(key, known);
            if (d < bestDistance) {
                best = known;
                bestDistance = d;
            }
        }
        if (best != null && bestDistance <= MAX_TYPO_DISTANCE) {
            return "did you mean '" + best + "'? (every key: " + REFERENCE + ")";
        }
        String last = key.substring(key.lastIndexOf('.') + 1);
        for (String known : RelayConfigLoader.KEYS) {
            if (known.equals(last) || known.endsWith("." + last)) {
                return "did you mean '" + known + "'? (every key: " + REFERENCE + ")";
            }
        }
        return "remove it, or see " + REFERENCE + " for every key with its default";
    }

    /** Levenshtein distance (keys are a few dozen characters). */
    static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int sub = prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                cur[j] = Math.min(sub, Math.min(prev[j] + 1, cur[j - 1] + 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    /** What the relay's admission would refuse at start that needs no file: node IDs, a mode's required keys. */
    private static void checkAdmission(RelayConfig.Auth auth) {
        try {
            for (String id : auth.allow()) {
                try {
                    NodeKey.parse(id);
                } catch (IllegalArgumentException e) {
                    throw new UsageException("auth.allow: '" + id + "': " + e.getMessage());
                }
            }
            if (auth.mode() == RelayConfig.AdmissionMode.ALLOW_LIST && auth.allowFile() != null) {
                return; // the file is read with --check-files
            }
            if (auth.mode() != RelayConfig.AdmissionMode.OPEN) {
                AdmissionFactory.admission(auth); // reads no file in these cases
            }
        } catch (AdmissionFactory.AuthConfigException e) {
            throw new UsageException(e.getMessage());
        }
    }

    private static void checkFiles(RelayConfig cfg) {
        Map<String, Path> files = new LinkedHashMap<>();
        if (cfg.tls().mode() == RelayConfig.TlsMode.FILES) {
            files.put("tls.cert", cfg.tls().cert());
            files.put("tls.key", cfg.tls().key());
        }
        if (cfg.mesh().keyFile() != null) {
            files.put("mesh.key-file", cfg.mesh().keyFile());
        }
        for (var e : files.entrySet()) {
            if (!Files.isReadable(e.getValue())) {
                throw new CommandFailedException(
                        e.getKey() + ": " + e.getValue() + " "
                                + (Files.exists(e.getValue()) ? "cannot be read by this user" : "does not exist")
                                + ": fix the path, or run verify as the relay's user on its host",
                        null);
            }
        }
        try {
            AdmissionFactory.verifier(cfg.auth()); // reads every auth.ca
            if (cfg.auth().mode() == RelayConfig.AdmissionMode.ALLOW_LIST) {
                AdmissionFactory.admission(cfg.auth()); // reads auth.allow-file
            }
        } catch (AdmissionFactory.AuthConfigException e) {
            throw new CommandFailedException(e.getMessage(), null);
        }
    }

    /** One line per part of the relay, as it would start. */
    static List<String> plan(RelayConfig c) {
        List<String> lines = new ArrayList<>();
        RelayConfig.Tls tls = c.tls();
        String tlsText = switch (tls.mode()) {
            case FILES -> "TLS from " + tls.cert() + " and " + tls.key();
            case DEV -> "TLS with a self-signed development certificate";
            case NONE -> "NO TLS (only behind a TLS-terminating proxy)";
        };
        lines.add("listen     " + Addresses.text(c.listen()) + " (" + tlsText
                + (tls.plainCircuits() ? "; plain circuits accepted" : "; TLS on every connection") + ")");
        lines.add("admin      "
                + (c.adminListen() == null
                        ? "off"
                        : "http://" + Addresses.text(c.adminListen()) + " (/healthz /readyz /metrics)"));
        lines.add("stun       " + (c.stunListen() == null ? "off" : Addresses.text(c.stunListen()) + " (UDP)"));
        lines.add("relay-id   " + c.relayId() + ", transport " + c.transport());
        RelayConfig.Auth a = c.auth();
        String auth = switch (a.mode()) {
            case OPEN -> "OPEN: any node with a valid key (development only)";
            case ALLOW_LIST ->
                a.allow().size() + " node IDs" + (a.allowFile() == null ? "" : " and those in " + a.allowFile());
            case CA ->
                "certificates from " + a.caFiles()
                        + (a.requiredTags().isEmpty() ? "" : " with tags " + a.requiredTags());
            case WEBHOOK ->
                a.webhookUrl() + " (timeout " + Durations.format(a.webhookTimeout()) + ", "
                        + (a.webhookFailOpen() ? "FAILS OPEN" : "fails closed") + ")";
        };
        lines.add("admission  " + a.mode().name().toLowerCase(Locale.ROOT).replace('_', '-') + ": " + auth);
        RelayConfig.Limits l = c.limits();
        lines.add("limits     " + l.maxClients() + " clients, " + l.maxHandshakes() + " handshakes in flight, "
                + (l.clientBytesPerSecond() == 0
                        ? "no per-client rate limit"
                        : l.clientBytesPerSecond() + " B/s per client")
                + ", " + l.activeCircuitsPerClient() + " circuits per client");
        RelayConfig.Timeouts t = c.timeouts();
        lines.add("timeouts   handshake " + Durations.format(t.handshake()) + ", keepalive "
                + Durations.format(t.keepalive()) + ", client idle " + Durations.format(t.clientIdle())
                + ", circuit idle " + Durations.format(t.circuitIdle()));
        lines.add("mesh       "
                + (c.mesh().configured()
                        ? String.join(", ", c.mesh().peers())
                                + (c.mesh().keyFile() == null
                                        ? " (NO mesh.key-file: meshing stays off)"
                                        : " (key " + c.mesh().keyFile() + ")")
                        : "off (a lone relay)"));
        var in = c.ingress();
        lines.add("ingress    "
                + (in.enabled()
                        ? "ON: public ports on " + in.bindAddress().getHostAddress()
                                + (in.hasRange()
                                        ? (in.ephemeralPorts()
                                                ? " (any free port)"
                                                : " " + in.portFirst() + "-" + in.portLast())
                                        : "")
                                + (in.staticPorts().isEmpty()
                                        ? ""
                                        : ", static " + in.staticPorts().keySet())
                        : "off"));
        return lines;
    }
}
