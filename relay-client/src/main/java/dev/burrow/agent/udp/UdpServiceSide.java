package dev.burrow.agent.udp;

import dev.burrow.agent.caller.Caller;
import dev.burrow.agent.caller.PeerAddresses;
import dev.burrow.agent.caller.WhoisTable;
import dev.burrow.agent.log.LogBudget;
import dev.burrow.agent.policy.AllowRule;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.agent.service.ServiceProtocol;
import dev.burrow.agent.service.ServiceRegistry;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.PeerRefusals;
import dev.burrow.agent.stream.RecentRefusals;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.DatagramPacket;
import java.io.ByteArrayInputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The exposing end: flows that peers open to our UDP services. An OPEN passes the same gate as a
 * TCP stream, in this order: the service exists and is UDP; node-only allow rules on the sender key
 * the box proved; the sender's node certificate, verified by the agent's one {@link NodeVerifier}
 * for exactly that key (names and tags only from a fleet CA); the service's allow rules on that
 * verified identity; the service's caps (per service and per peer, counted in flows); the
 * {@link TargetPolicy} (the configured host and port only, on the resolved address that is then
 * connected to). Then one connected UDP socket per flow carries the peer's datagrams to the target
 * and the target's replies back to that flow only.
 *
 * <p>A flow is bound to the peer's key and the session of its OPEN: DATA from another session of
 * the same peer (a restart, or a relay splicing packets across sessions) is an unknown flow.
 */
final class UdpServiceSide {
    private static final Logger log = LoggerFactory.getLogger(UdpServiceSide.class);

    private record Key(NodeKey peer, long flow) {}

    private final UdpEngine engine;
    private final NodeVerifier verifier;
    private final ServiceRegistry registry;
    private final WhoisTable whois;
    /** Refusals' log lines: a peer that draws refusals in a loop writes a few per window, not one each. */
    private final LogBudget refusalLog = new LogBudget();

    // Event loop only.
    private final Map<Key, ServerFlow> flows = new HashMap<>();
    /** Per peer: OPEN tokens and when they were last refilled (bounded: least recently used peers are forgotten). */
    private final Map<NodeKey, long[]> openTokens = new java.util.LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodeKey, long[]> e) {
            return size() > UdpLimits.MAX_PEERS;
        }
    };

    /** Takes one OPEN token of {@code peer} (token bucket: {@link UdpLimits#OPEN_RATE}/s, burst {@link UdpLimits#OPEN_BURST}). */
    private boolean openAllowed(NodeKey peer) {
        long now = System.nanoTime();
        long[] b = openTokens.computeIfAbsent(peer, k -> new long[] {UdpLimits.OPEN_BURST, now});
        long refill = (now - b[1]) * UdpLimits.OPEN_RATE / 1_000_000_000L;
        if (refill > 0) {
            b[0] = Math.min(UdpLimits.OPEN_BURST, b[0] + refill);
            b[1] = now;
        }
        if (b[0] <= 0) {
            return false;
        }
        b[0]--;
        return true;
    }

    UdpServiceSide(UdpEngine engine, NodeVerifier verifier, ServiceRegistry registry, WhoisTable whois) {
        this.engine = engine;
        this.verifier = verifier;
        this.registry = registry;
        this.whois = whois;
    }

    int flowCount() {
        return flows.size();
    }

    final class ServerFlow {
        final Key key;
        final byte[] session;
        final ExposedService service;
        final VerifiedPeer peer;
        final ConnectionCaps.Permit permit;
        final InetSocketAddress target;
        final ArrayDeque<byte[]> pending = new ArrayDeque<>();
        final UdpEngine.Outbox outbox;
        Channel channel;
        boolean connected;
        boolean closed;
        WhoisTable.Registration whoisEntry;
        String local = "";
        long lastNanos = System.nanoTime();
        boolean replied;
        long packetsIn;
        long packetsOut;
        long bytesIn;
        long bytesOut;
        long drops;

        ServerFlow(
                Key key,
                byte[] session,
                ExposedService service,
                VerifiedPeer peer,
                ConnectionCaps.Permit permit,
                InetSocketAddress target) {
            this.key = key;
            this.session = session;
            this.service = service;
            this.peer = peer;
            this.permit = permit;
            this.target = target;
            this.outbox = new UdpEngine.Outbox(key.peer);
        }

        void toTarget(byte[] payload) {
            lastNanos = System.nanoTime();
            packetsIn++;
            bytesIn += payload.length;
            engine.metrics.datagram(UdpMetrics.Side.EXPOSE, false, payload.length);
            if (!connected) {
                if (pending.size() >= UdpLimits.MAX_PENDING_PER_FLOW) {
                    dropped(UdpDropReason.QUEUE_FULL);
                    return;
                }
                pending.add(payload);
                return;
            }
            if (!channel.isWritable()) {
                dropped(UdpDropReason.QUEUE_FULL);
                return;
            }
            channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(payload), target));
        }

        void fromTarget(ByteBuf content) {
            if (closed) {
                return;
            }
            int n = content.readableBytes();
            if (n > UdpLimits.MAX_PAYLOAD || n > engine.usablePayload(key.peer)) {
                dropped(UdpDropReason.TOO_LARGE);
                return;
            }
            byte[] payload = new byte[n];
            content.readBytes(payload);
            lastNanos = System.nanoTime();
            replied = true;
            if (engine.enqueue(outbox, new UdpMessage.Reply(key.flow, payload))) {
                packetsOut++;
                bytesOut += n;
                engine.metrics.datagram(UdpMetrics.Side.EXPOSE, true, n);
            } else {
                dropped(UdpDropReason.QUEUE_FULL);
            }
        }

        void dropped(UdpDropReason r) {
            drops++;
            engine.drop(r);
        }

        void close(UdpCloseReason reason, boolean tellPeer) {
            if (closed) {
                return;
            }
            closed = true;
            flows.remove(key, this);
            permit.close();
            if (whoisEntry != null) {
                whoisEntry.close();
            }
            if (channel != null) {
                channel.close();
            }
            pending.clear();
            engine.discard(outbox);
            engine.metrics.flowClosed(UdpMetrics.Side.EXPOSE, reason);
            if (tellPeer) {
                engine.send(key.peer, new UdpMessage.Closed(key.flow, reason.code()));
            }
            log.debug("UDP flow {} from {} to '{}' closed: {}", key.flow, key.peer.shortId(), service.name(), reason);
        }
    }

    void receive(NodeKey sender, byte[] session, UdpMessage.ToService m) {
        switch (m) {
            case UdpMessage.Open o -> open(sender, session, o);
            case UdpMessage.Data d -> {
                ServerFlow f = flows.get(new Key(sender, d.flow()));
                if (f == null || !Arrays.equals(f.session, session)) {
                    engine.drop(UdpDropReason.UNKNOWN_FLOW);
                    // An authenticated peer still sends on a flow we forgot (our CLOSED was lost, or we
                    // restarted): tell it, so its source opens a new flow with its next datagram.
                    engine.send(sender, new UdpMessage.Closed(d.flow(), UdpCloseReason.OTHER.code()));
                    return;
                }
                f.toTarget(d.payload());
            }
            case UdpMessage.Close c -> {
                ServerFlow f = flows.get(new Key(sender, c.flow()));
                if (f == null || !Arrays.equals(f.session, session)) {
                    engine.drop(UdpDropReason.UNKNOWN_FLOW);
                    return;
                }
                f.close(UdpCloseReason.PEER_CLOSED, false);
            }
        }
    }

    private void open(NodeKey sender, byte[] session, UdpMessage.Open o) {
        Key key = new Key(sender, o.flow());
        ServerFlow existing = flows.get(key);
        if (existing != null) {
            if (Arrays.equals(existing.session, session)
                    && existing.service.name().equals(o.service())) {
                engine.send(sender, new UdpMessage.Opened(o.flow(), session)); // a repeated OPEN: answer again
                return;
            }
            existing.close(UdpCloseReason.OTHER, false); // the peer restarted: its old flow is gone
        }
        if (!openAllowed(sender)) {
            engine.drop(UdpDropReason.OPEN_RATE); // unanswered: the OPEN is repeated, or the source tries again
            return;
        }
        ExposedService s = registry.get(o.service());
        if (s == null || s.protocol() != ServiceProtocol.UDP) {
            refuse(sender, o, StreamStatusCode.SERVICE_UNKNOWN, "no UDP service '" + o.service() + "' here");
            return;
        }
        boolean nodeRulesOnly = s.allow().rules().stream().allMatch(r -> r instanceof AllowRule.Node);
        if (nodeRulesOnly && !s.allow().admits(keyOnly(sender))) {
            refuse(
                    sender,
                    o,
                    StreamStatusCode.NOT_ALLOWED,
                    "node " + sender.nodeId() + " is not allowed to use '" + s.name() + "'");
            return;
        }
        VerifiedPeer peer;
        try {
            X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(o.certificate()));
            peer = verifier.verify(new X509Certificate[] {cert}, sender);
        } catch (CertificateException | RuntimeException e) {
            refuse(sender, o, StreamStatusCode.NOT_ALLOWED, "certificate refused: " + e.getMessage());
            return;
        }
        if (!s.allow().admits(peer)) {
            refuse(
                    sender,
                    o,
                    StreamStatusCode.NOT_ALLOWED,
                    peer.displayName() + " is not allowed to use '" + s.name() + "'");
            return;
        }
        ConnectionCaps caps = registry.caps(s.name());
        ConnectionCaps.Permit permit = caps == null ? null : caps.tryAcquire(sender);
        if (permit == null) {
            String why = caps != null && caps.openFrom(sender) >= s.maxPerPeer()
                    ? "per-peer flow limit (" + s.maxPerPeer() + ") of service '" + s.name() + "' reached"
                    : "flow limit (" + s.maxConnections() + ") of service '" + s.name() + "' reached";
            refuse(sender, o, StreamStatusCode.LIMIT_REACHED, why);
            return;
        }
        TargetPolicy.Decision decision = s.target().decide();
        if (decision instanceof TargetPolicy.Decision.Refused r) {
            permit.close();
            refuse(
                    sender,
                    o,
                    r.unreachable() ? StreamStatusCode.TARGET_UNREACHABLE : StreamStatusCode.NOT_ALLOWED,
                    r.reason());
            return;
        }
        InetSocketAddress target = ((TargetPolicy.Decision.Allowed) decision).connectTo();
        ServerFlow f = new ServerFlow(key, session, s, peer, permit, target);
        flows.put(key, f);
        engine.metrics.flowOpened(UdpMetrics.Side.EXPOSE);
        Bootstrap b = new Bootstrap()
                .group(engine.loop)
                .channel(engine.transport.datagramChannel())
                .option(
                        ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(
                                UdpLimits.MAX_TARGET_QUEUE_BYTES / 2, UdpLimits.MAX_TARGET_QUEUE_BYTES))
                .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
                        f.fromTarget(p.content());
                    }

                    @Override
                    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                        // ICMP port unreachable and the like: the target is not there (yet); keep the flow
                        log.debug("UDP target {} of '{}': {}", f.target, s.name(), cause.toString());
                    }
                });
        // bind first (loopback for a loopback target), then connect: one socket per flow
        InetSocketAddress localBind =
                new InetSocketAddress(target.getAddress().isLoopbackAddress() ? target.getAddress() : null, 0);
        ChannelFuture cf = b.connect(target, localBind);
        f.channel = cf.channel();
        cf.addListener(x -> {
            if (!x.isSuccess()) {
                log.info("UDP flow to '{}' ({}) failed: {}", s.name(), target, String.valueOf(x.cause()), x.cause());
                f.close(UdpCloseReason.TARGET_ERROR, true);
                return;
            }
            if (f.closed) {
                f.channel.close();
                return;
            }
            f.connected = true;
            InetSocketAddress localEnd = (InetSocketAddress) f.channel.localAddress();
            f.local = WhoisTable.text(localEnd);
            f.whoisEntry = whois.register(
                    localEnd,
                    new Caller(
                            f.local,
                            sender.nodeId(),
                            peer.caIssued() ? peer.name() : null,
                            peer.caIssued() ? peer.tags().stream().sorted().toList() : List.of(),
                            peer.caIssued(),
                            s.name(),
                            engine.path.name(sender),
                            s.target().spec().toString(),
                            PeerAddresses.forPeer(sender, target.getAddress()).getHostAddress(),
                            Instant.now().toString()));
            while (!f.pending.isEmpty()) {
                byte[] p = f.pending.poll();
                f.channel.write(new DatagramPacket(Unpooled.wrappedBuffer(p), target));
            }
            f.channel.flush();
        });
        engine.send(sender, new UdpMessage.Opened(o.flow(), session));
        log.debug("UDP flow {} from {} to '{}' ({}) open", o.flow(), peer.displayName(), s.name(), target);
    }

    private void refuse(NodeKey sender, UdpMessage.Open o, StreamStatusCode code, String message) {
        VerifiedPeer keyOnly = keyOnly(sender);
        boolean admittedSomewhere =
                registry.all().stream().anyMatch(x -> x.allow().admits(keyOnly));
        PeerRefusals.Told told = PeerRefusals.toPeer(code, message, admittedSomewhere);
        engine.metrics.flowRefused(UdpMetrics.Side.EXPOSE, code);
        engine.refusals.add(new RecentRefusals.Refusal(
                Instant.now(), Direction.INBOUND, sender.nodeId(), o.service(), code, "this agent", message));
        refusalLog.info(
                log,
                "refused UDP flow from {} for service '{}': {} ({})",
                sender.shortId(),
                o.service(),
                code,
                message);
        engine.send(sender, new UdpMessage.Refused(o.flow(), told.code().code(), told.message()));
    }

    private static VerifiedPeer keyOnly(NodeKey key) {
        return new VerifiedPeer(key, null, Set.of(), Instant.MAX, false, BigInteger.ZERO);
    }

    void tick(long now) {
        for (Iterator<ServerFlow> it = List.copyOf(flows.values()).iterator(); it.hasNext(); ) {
            ServerFlow f = it.next();
            long limit = (f.replied ? engine.assuredIdle : engine.idle).toNanos();
            if (now - f.lastNanos > limit) {
                f.close(UdpCloseReason.IDLE, true);
            }
        }
    }

    void servicesChanged() {
        for (ServerFlow f : List.copyOf(flows.values())) {
            ExposedService now = registry.get(f.service.name());
            if (now == null
                    || now.protocol() != ServiceProtocol.UDP
                    || !now.target().spec().equals(f.service.target().spec())
                    || !now.allow().admits(f.peer)) {
                f.close(UdpCloseReason.SERVICE_REMOVED, true);
            }
        }
    }

    void closeAll(UdpCloseReason reason) {
        for (ServerFlow f : List.copyOf(flows.values())) {
            f.close(reason, true);
        }
    }

    void addStatus(List<UdpStatus.Flow> out, long now) {
        for (ServerFlow f : flows.values()) {
            out.add(new UdpStatus.Flow(
                    "expose",
                    f.key.peer.nodeId(),
                    f.service.name(),
                    f.local,
                    engine.path.name(f.key.peer),
                    f.connected ? "open" : "opening",
                    f.packetsOut,
                    f.packetsIn,
                    f.bytesOut,
                    f.bytesIn,
                    f.drops,
                    (now - f.lastNanos) / 1_000_000));
        }
    }
}
