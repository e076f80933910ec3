package dev.burrow.agent.api;

/**
 * The agent's local control API: HTTP/1.1 on a Unix domain socket {@value #SOCKET_FILE} in the state
 * directory (directory 0700, socket 0600: only the directory's owner can connect, which is the
 * authorisation). Where a Unix socket cannot be bound (a state directory path longer than the
 * platform's socket path limit, a file system without sockets, a platform without them) the agent
 * falls back to HTTP/1.1 on 127.0.0.1 (never another interface), every request authorised by a bearer
 * token that only the state directory's owner can read.
 *
 * <p>Files in the state directory, all 0600: {@value #SOCKET_FILE} (the socket), or, on the fallback,
 * {@value #ENDPOINT_FILE} (the URL of the running agent) and {@value #TOKEN_FILE} (32 random bytes,
 * hex). One request per connection ({@code Connection: close}). Endpoints (JSON):
 *
 * <ul>
 *   <li>{@code GET /v1/status}: {@link dev.burrow.agent.AgentStatus};</li>
 *   <li>{@code GET /v1/ready}: 200 {@code {"ready":true}} when connected and every forward is
 *       live, else 503 with the problem.</li>
 *   <li>{@code GET /v1/whois?addr=127.0.0.1:54321}: the verified caller behind the local
 *       connection whose agent end is that address ({@link dev.burrow.agent.caller.Caller}); 404
 *       {@code {"error":"no such connection"}} when the agent has none; 400 for a malformed address.</li>
 * </ul>
 */
public final class ControlApi {
    public static final String SOCKET_FILE = "agent-api.sock";
    public static final String ENDPOINT_FILE = "agent-api.url";
    public static final String TOKEN_FILE = "agent-api.token";
    public static final String STATUS_PATH = "/v1/status";
    public static final String READY_PATH = "/v1/ready";
    public static final String WHOIS_PATH = "/v1/whois";
    /** The error text of a whois for an address that is not one of the agent's connections. */
    public static final String NO_SUCH_CONNECTION = "no such connection";
    /** Token entropy: 256 bits, like every other secret in Burrow. */
    public static final int TOKEN_BYTES = 32;

    private ControlApi() {}
}
