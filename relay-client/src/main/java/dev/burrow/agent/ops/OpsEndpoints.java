package dev.burrow.agent.ops;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.policy.TargetSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the agent serves its operator endpoints, both off unless asked for: Prometheus
 * {@code /metrics} ({@code metrics: HOST:PORT} in agent.yaml, {@code --metrics-listen}) and the
 * status page ({@code web: 127.0.0.1:PORT}, {@code --web-listen}). A bare port means 127.0.0.1.
 * The status page is loopback only: its secret URL keeps other local users out, not other hosts.
 * Read from the same YAML as {@link AgentConfig} (which accepts the two keys and leaves them here);
 * a change needs a restart.
 *
 * @param metrics the metrics listener, or null (off)
 * @param web the status page listener (a loopback address), or null (off)
 */
public record OpsEndpoints(InetSocketAddress metrics, InetSocketAddress web) {
    public static final OpsEndpoints NONE = new OpsEndpoints(null, null);
    /** The agent.yaml keys. */
    public static final String METRICS_KEY = "metrics";

    public static final String WEB_KEY = "web";

    public OpsEndpoints {
        if (web != null && !web.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException(WEB_KEY + ": " + web.getAddress().getHostAddress()
                    + " is not a loopback address: the status page listens on 127.0.0.1 or ::1 only");
        }
    }

    /** The same, with {@code metrics} and/or {@code web} from the command line when given (non-null). */
    public OpsEndpoints override(InetSocketAddress metricsOrNull, InetSocketAddress webOrNull) {
        return new OpsEndpoints(metricsOrNull != null ? metricsOrNull : metrics, webOrNull != null ? webOrNull : web);
    }

    /** The two keys of an agent.yaml (the rest is {@link AgentConfig}'s). */
    public static OpsEndpoints load(Path file) throws IOException {
        if (Files.size(file) > AgentConfig.MAX_FILE_BYTES) {
            throw new IllegalArgumentException(file + ": larger than " + AgentConfig.MAX_FILE_BYTES + " bytes");
        }
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(Files.readString(file));
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid YAML: " + e.getOriginalMessage());
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    static OpsEndpoints parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            return NONE;
        }
        return new OpsEndpoints(address(root.get(METRICS_KEY), METRICS_KEY), address(root.get(WEB_KEY), WEB_KEY));
    }

    private static InetSocketAddress address(JsonNode n, String key) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isValueNode()) {
            throw new IllegalArgumentException(key + ": expected HOST:PORT or a port (on 127.0.0.1)");
        }
        return address(n.isNumber() ? String.valueOf(n.asLong()) : n.asText(), key);
    }

    /**
     * {@code HOST:PORT}, {@code [v6]:PORT} or a port on 127.0.0.1; {@code off} is null.
     *
     * @throws IllegalArgumentException naming {@code what} (the key or option)
     */
    public static InetSocketAddress address(String text, String what) {
        if (text == null || text.isBlank() || text.strip().equalsIgnoreCase("off")) {
            return null;
        }
        try {
            TargetSpec t = TargetSpec.parse(text.strip());
            return new InetSocketAddress(InetAddress.getByName(t.host()), t.port());
        } catch (IllegalArgumentException | UnknownHostException e) {
            throw new IllegalArgumentException(
                    what + ": '" + text + "': " + e.getMessage() + " (expected HOST:PORT, or a port on 127.0.0.1)");
        }
    }
}
