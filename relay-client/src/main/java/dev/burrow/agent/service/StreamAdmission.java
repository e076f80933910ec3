package dev.burrow.agent.service;

import dev.burrow.agent.metrics.AgentMetrics;
import dev.burrow.agent.policy.ConnectionCaps;
import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.stream.ActiveStreams;
import dev.burrow.agent.stream.Direction;
import dev.burrow.agent.stream.Splice;
import dev.burrow.agent.stream.StreamEnd;
import dev.burrow.agent.stream.StreamStatusCode;
import dev.burrow.identity.NodeKey;
import dev.burrow.transport.Transport;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;

/**
 * The one admission path both agent gates end in, once they know who is calling and which service:
 * the connection cap, the {@link TargetPolicy} (configured host and port only, disguised local targets), the target
 * connection ({@link TargetConnector}), what the target gets before the caller's bytes, the splice
 * and its entry in {@link ActiveStreams}. Every step runs on the stream's event loop.
 *
 * <h2>What differs between the two gates (stated here, and only here)</h2>
 * <table>
 *   <caption>node-to-node streams and public ingress</caption>
 *   <tr><th></th><th>{@link InboundStreamGate} (node to node)</th><th>{@code IngressGate} (public ingress)</th></tr>
 *   <tr><td>caller proven by</td><td>end-to-end TLS with node certificates, verified as the node the path named</td>
 *       <td>the relay's PROXY v2 header (no end-to-end TLS: the relay saw the client)</td></tr>
 *   <tr><td>admitted when</td><td>the service's allow rules admit the verified node</td>
 *       <td>the service is public and the client address is in its {@code allow-sources}</td></tr>
 *   <tr><td>cap</td><td>the service's caps, per service and per peer node</td>
 *       <td>the service's public-connection cap (one bucket, keyed by this node)</td></tr>
 *   <tr><td>before the caller's bytes, the target gets</td>
 *       <td>a PROXY v2 header describing the node (opt-in); the caller is recorded for whois</td>
 *       <td>a PROXY v2 header with the public client (opt-in), then the bytes held since the header</td></tr>
 *   <tr><td>refusal</td><td>STATUS with a reason code, then close</td><td>close (the relay closes the client)</td></tr>
 *   <tr><td>admission</td><td>STATUS OK; the peer end is the TLS stream</td><td>nothing said; the circuit end is plain</td></tr>
 *   <tr><td>idle timeout, path</td><td>the service's; the path that brought the stream</td>
 *       <td>the public ingress's; {@code ingress}</td></tr>
 * </table>
 * The {@link Terms} carry the data that differs; the {@link Stream} the steps that differ.
 */
public final class StreamAdmission {
    // Final after construction (thread-safe collaborators).
    private final Transport transport;
    private final AgentMetrics metrics;
    private final ActiveStreams active;

    public StreamAdmission(Transport transport, AgentMetrics metrics, ActiveStreams active) {
        this.transport = transport;
        this.metrics = metrics;
        this.active = active;
    }

    /**
     * The data a gate's admission differs in.
     *
     * @param caps the caps to take a permit from (null: none configured, so the stream is refused as over the limit)
     * @param capsKey the key the permit is taken for
     * @param limitMessage the refusal text when the cap is full
     * @param peer the peer key shown in the active stream list
     * @param peerName the peer name shown there (may be null)
     * @param path the path name shown there
     * @param idleTimeout the splice's idle timeout
     * @param firstName name of {@code first} in the target's pipeline
     * @param first an outbound handler put first in the target's pipeline (the PROXY v2 encoder), or null
     */
    public record Terms(
            ConnectionCaps caps,
            NodeKey capsKey,
            String limitMessage,
            NodeKey peer,
            String peerName,
            String path,
            Duration idleTimeout,
            String firstName,
            ChannelHandler first) {}

    /** The steps a gate's admission differs in; called on the stream's event loop. */
    public interface Stream {
        /** The target connect is under way (a gate that sees its path close cancels it). */
        default void connecting(ChannelFuture connect) {}

        /** Refuses the stream with the gate's own answer (nothing happens when it was decided already). */
        void reject(StreamStatusCode code, String message);

        /** The target connection failed. */
        void connectFailed();

        /** True when the stream was decided meanwhile or its path closed: the new target connection is closed. */
        boolean gone();

        /** The target connected after the stream was {@link #gone}: release what was prepared for it. */
        void targetUnwanted();

        /**
         * Writes what the target gets before the caller's bytes, and records the caller. False when
         * the gate refused the stream instead (the target connection and permit are then closed).
         */
        boolean prepareTarget(Channel target, InetSocketAddress connectedTo);

        /** The gate steps aside (answering OK where the caller waits for it): the caller's end of the splice. */
        StreamEnd admitted();
    }

    /** Takes a permit, asks the target policy, connects the target and splices: see the class comment. */
    public void admit(ChannelHandlerContext ctx, ExposedService service, Terms terms, Stream stream) {
        ConnectionCaps.Permit permit =
                terms.caps() == null ? null : terms.caps().tryAcquire(terms.capsKey());
        if (permit == null) {
            stream.reject(StreamStatusCode.LIMIT_REACHED, terms.limitMessage());
            return;
        }
        TargetPolicy.Decision decision = service.target().decide();
        if (decision instanceof TargetPolicy.Decision.Refused r) {
            permit.close();
            stream.reject(
                    r.unreachable() ? StreamStatusCode.TARGET_UNREACHABLE : StreamStatusCode.NOT_ALLOWED, r.reason());
            return;
        }
        InetSocketAddress connectTo = ((TargetPolicy.Decision.Allowed) decision).connectTo();
        ChannelFuture cf =
                TargetConnector.connect(ctx.channel(), transport, connectTo, terms.firstName(), terms.first());
        stream.connecting(cf);
        cf.addListener((ChannelFutureListener) f -> ctx.executor().execute(() -> {
            if (!f.isSuccess()) {
                permit.close();
                stream.connectFailed();
                return;
            }
            Channel local = f.channel();
            if (stream.gone()) {
                permit.close();
                local.close();
                stream.targetUnwanted();
                return;
            }
            if (!stream.prepareTarget(local, connectTo)) {
                permit.close();
                local.close();
                return;
            }
            StreamEnd callerEnd = stream.admitted();
            long id = active.nextId();
            metrics.streamOpened(Direction.INBOUND);
            Splice splice = Splice.join(
                    callerEnd,
                    StreamEnd.plain(local, "target " + service.target().spec()),
                    terms.idleTimeout(),
                    (fromCaller, toCaller, outcome) -> {
                        permit.close();
                        active.remove(id, fromCaller, toCaller);
                        metrics.streamEnded(Direction.INBOUND, outcome, fromCaller, toCaller);
                    });
            active.add(new ActiveStreams.Entry(
                    id,
                    Direction.INBOUND,
                    terms.peer(),
                    terms.peerName(),
                    service.name(),
                    terms.path(),
                    service.target().spec().toString(),
                    Instant.now(),
                    splice));
            if (splice.isFinished()) {
                active.remove(id, splice.bytesAtoB(), splice.bytesBtoA());
            }
        }));
    }
}
