package dev.burrow.agent.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.agent.Agent;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.identity.SecureFiles;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerDomainSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link ControlApi} for one running {@link Agent}: Netty on one event-loop thread, on a Unix
 * domain socket in the state directory (or, where none can be bound, on 127.0.0.1 with a token).
 *
 * <p>Nothing a client does can hold the API: every connection lives at most {@link #REQUEST_DEADLINE}
 * (a request that has not arrived by then is dropped, however slowly it trickles in), one request per
 * connection, requests are bounded before they are buffered, and at {@link #MAX_CONNECTIONS} the
 * oldest connection is closed to make room for the new one, so a client that opens connections and
 * holds them pushes out its own before it can starve a probe.
 */
public final class ControlApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ControlApiServer.class);
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * How long one connection may take from accept to its answer. An honest client (the CLI, a probe)
     * sends its whole request at once and is answered in milliseconds; 3 s is ample even on a loaded
     * node and below the clients' own 5 s ({@link ControlApiClient#TIMEOUT}).
     */
    static final Duration REQUEST_DEADLINE = Duration.ofSeconds(3);
    /**
     * Connections open at once. Probes and CLI calls come one or two at a time; 64 leaves room for
     * bursts, and the oldest is evicted at the cap (see the class comment) rather than refusing the newest.
     */
    static final int MAX_CONNECTIONS = 64;
    /** Request line: {@code GET /v1/whois?addr=} and an encoded address of {@link #MAX_WHOIS_ADDRESS} fit with room. */
    static final int MAX_INITIAL_LINE = 1024;
    /** All headers together: a CLI sends three short ones; curl or a browser a few more. */
    static final int MAX_HEADER_BYTES = 4096;
    /** Request body: every endpoint is a GET without one; a little slack for clients that send an empty form. */
    static final int MAX_REQUEST_BODY = 1024;
    /** {@code [ffff:...%scope]:65535} fits; anything longer is not an address. */
    static final int MAX_WHOIS_ADDRESS = 128;

    private final EventLoopGroup group;
    private volatile Channel server;
    private final Path stateDir;
    /** Null on the Unix socket (the file permissions authorise); the bearer token on TCP. */
    private final byte[] token;

    private final Agent agent;
    /** Connections in accept order; event loop only (the group has one thread). */
    private final LinkedHashSet<Channel> open = new LinkedHashSet<>();

    private ControlApiServer(EventLoopGroup group, Path stateDir, byte[] token, Agent agent) {
        this.group = group;
        this.stateDir = stateDir;
        this.token = token;
        this.agent = agent;
    }

    /**
     * Serves {@code agent} on {@code <stateDir>/agent-api.sock} (0600, in a 0700 directory); if no Unix
     * socket can be bound there, on 127.0.0.1 port {@code tcpPort} (0 = any free port) with a fresh
     * token, writing the endpoint and the token into {@code stateDir} (0600).
     */
    public static ControlApiServer start(Agent agent, Path stateDir, int tcpPort) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        removeFiles(stateDir); // a killed agent's leftovers: the client must never find a stale endpoint
        try {
            return startUnix(agent, stateDir);
        } catch (IOException | RuntimeException e) {
            log.warn(
                    "cannot serve the local API on a Unix socket in {} ({}); serving it on 127.0.0.1 with a token instead",
                    stateDir,
                    e.toString());
            removeFiles(stateDir);
            return startTcp(agent, stateDir, tcpPort);
        }
    }

    /** Serves on the Unix socket only (tests; {@link #start} falls back to TCP when this fails). */
    static ControlApiServer startUnix(Agent agent, Path stateDir) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        Path socket = stateDir.resolve(ControlApi.SOCKET_FILE);
        Files.deleteIfExists(socket);
        ControlApiServer api =
                bind(agent, stateDir, null, NioServerDomainSocketChannel.class, UnixDomainSocketAddress.of(socket));
        try {
            Files.setPosixFilePermissions(socket, SecureFiles.SECRET_PERMS);
        } catch (IOException | RuntimeException e) {
            api.close();
            throw e;
        }
        log.info("local control API on {}", socket);
        return api;
    }

    /** Serves on 127.0.0.1 with a bearer token (where no Unix socket can be used). */
    static ControlApiServer startTcp(Agent agent, Path stateDir, int port) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        byte[] raw = new byte[ControlApi.TOKEN_BYTES];
        new SecureRandom().nextBytes(raw);
        byte[] token = HexFormat.of().formatHex(raw).getBytes(StandardCharsets.US_ASCII);
        ControlApiServer api = bind(
                agent,
                stateDir,
                token,
                NioServerSocketChannel.class,
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
        try {
            SecureFiles.writeAtomically(stateDir.resolve(ControlApi.TOKEN_FILE), token, SecureFiles.SECRET_PERMS);
            String url = "http://127.0.0.1:" + api.port();
            SecureFiles.writeAtomically(
                    stateDir.resolve(ControlApi.ENDPOINT_FILE),
                    url.getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.SECRET_PERMS);
            log.info("local control API on {} (token in {})", url, stateDir.resolve(ControlApi.TOKEN_FILE));
        } catch (IOException | RuntimeException e) {
            api.close();
            throw e;
        }
        return api;
    }

    private static ControlApiServer bind(
            Agent agent, Path stateDir, byte[] token, Class<? extends ServerChannel> type, SocketAddress address)
            throws IOException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(
                1, new DefaultThreadFactory("burrow-agent-api", true), NioIoHandler.newFactory());
        ControlApiServer api = new ControlApiServer(group, stateDir, token, agent);
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(type)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        api.admit(ch);
                    }
                });
        try {
            api.server = b.bind(address).syncUninterruptibly().channel();
            return api;
        } catch (Exception e) { // bind failures arrive unchecked from syncUninterruptibly
            group.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS);
            throw new IOException("cannot bind the local API on " + address + ": " + e.getMessage(), e);
        }
    }

    /** Event loop: caps connections, sets the deadline, builds the pipeline. */
    private void admit(Channel ch) {
        if (open.size() >= MAX_CONNECTIONS) {
            Channel oldest = open.iterator().next();
            open.remove(oldest);
            oldest.close();
        }
        open.add(ch);
        var deadline = ch.eventLoop()
                .schedule(
                        () -> {
                            ch.close();
                        },
                        REQUEST_DEADLINE.toNanos(),
                        TimeUnit.NANOSECONDS);
        ch.closeFuture().addListener(f -> {
            deadline.cancel(false);
            open.remove(ch);
        });
        ch.pipeline()
                .addLast(
                        "http",
                        new HttpServerCodec(new HttpDecoderConfig()
                                .setMaxInitialLineLength(MAX_INITIAL_LINE)
                                .setMaxHeaderSize(MAX_HEADER_BYTES)
                                .setMaxChunkSize(MAX_REQUEST_BODY)));
        ch.pipeline().addLast("aggregate", new HttpObjectAggregator(MAX_REQUEST_BODY, true));
        ch.pipeline().addLast("api", new RequestHandler());
    }

    private record Reply(int status, Object body) {}

    private final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            Reply r;
            try {
                r = route(req);
            } catch (RuntimeException e) {
                log.debug("control API request failed", e);
                r = new Reply(500, Map.of("error", "internal error"));
            }
            byte[] body;
            try {
                body = JSON.writeValueAsBytes(r.body());
            } catch (IOException e) {
                log.debug("control API answer cannot be written", e);
                ctx.close();
                return;
            }
            FullHttpResponse resp = new DefaultFullHttpResponse(
                    HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(r.status()), Unpooled.wrappedBuffer(body));
            resp.headers()
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, body.length)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.channel().config().setAutoRead(false); // one request per connection
            ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("control API connection failed: {}", cause.toString());
            ctx.close();
        }
    }

    private Reply route(FullHttpRequest req) {
        if (req.decoderResult().isFailure()) {
            return new Reply(400, Map.of("error", "malformed request"));
        }
        if (!HttpMethod.GET.equals(req.method())) {
            return new Reply(405, Map.of("error", "GET only"));
        }
        if (token != null && !authorised(req.headers().get(HttpHeaderNames.AUTHORIZATION))) {
            return new Reply(401, Map.of("error", "missing or wrong bearer token"));
        }
        QueryStringDecoder q = new QueryStringDecoder(req.uri(), StandardCharsets.UTF_8, true, 4);
        return switch (q.path()) {
            case ControlApi.STATUS_PATH -> new Reply(200, agent.status());
            case ControlApi.READY_PATH -> {
                String problem = agent.readyProblem();
                yield problem == null
                        ? new Reply(200, Map.of("ready", true))
                        : new Reply(503, Map.of("ready", false, "problem", problem));
            }
            case ControlApi.WHOIS_PATH -> whois(agent, q.parameters().getOrDefault("addr", List.of()));
            default -> new Reply(404, Map.of("error", "no such endpoint"));
        };
    }

    private static Reply whois(Agent agent, List<String> addrs) {
        String addr = addrs.isEmpty() ? null : addrs.get(0);
        if (addr == null || addr.length() > MAX_WHOIS_ADDRESS) {
            return new Reply(400, Map.of("error", "give addr=HOST:PORT"));
        }
        InetSocketAddress a;
        try {
            a = WhoisTable.parseAddress(addr);
        } catch (IllegalArgumentException e) {
            return new Reply(400, Map.of("error", e.getMessage()));
        }
        return agent.whois()
                .lookup(a)
                .<Reply>map(c -> new Reply(200, c))
                .orElseGet(() ->
                        new Reply(404, Map.of("error", ControlApi.NO_SUCH_CONNECTION, "addr", WhoisTable.text(a))));
    }

    private boolean authorised(String header) {
        if (header == null || !header.startsWith("Bearer ")) {
            return false;
        }
        byte[] given = header.substring("Bearer ".length()).strip().getBytes(StandardCharsets.US_ASCII);
        return MessageDigest.isEqual(given, token);
    }

    /** True when serving on the Unix socket, false on the loopback TCP fallback. */
    public boolean unixSocket() {
        return token == null;
    }

    /** The TCP port (fallback only). */
    public int port() {
        if (server.localAddress() instanceof InetSocketAddress in) {
            return in.getPort();
        }
        throw new IllegalStateException("the local API is on a Unix socket");
    }

    /** Stops serving and removes the socket, endpoint and token files. */
    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        try {
            removeFiles(stateDir);
        } catch (IOException e) {
            log.debug("cannot remove control API files: {}", e.toString());
        }
    }

    private static void removeFiles(Path stateDir) throws IOException {
        Files.deleteIfExists(stateDir.resolve(ControlApi.SOCKET_FILE));
        Files.deleteIfExists(stateDir.resolve(ControlApi.ENDPOINT_FILE));
        Files.deleteIfExists(stateDir.resolve(ControlApi.TOKEN_FILE));
    }
}
