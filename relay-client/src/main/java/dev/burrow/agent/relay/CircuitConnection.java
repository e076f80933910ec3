package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.ssl.SslHandler;
import java.util.Objects;

/**
 * An attached relay circuit: a Netty {@link Channel} that carries raw bytes ({@code ByteBuf} in and
 * out) to the other node, through the relay. The relay cannot read them when the two nodes run TLS
 * inside, which is what the agent does.
 *
 * <p>On hand-over: {@code autoRead} is off, {@code ALLOW_HALF_CLOSURE} is on (upgrade mode), and
 * bytes that arrived together with CIRCUIT_ATTACHED are held back. Add your handlers to
 * {@link #pipeline()} (at its end), then call {@link #start()} or simply start reading
 * ({@code channel().read()} or {@code setAutoRead(true)}): the held bytes, and a close, input
 * shutdown or exception seen in between, are delivered to your handlers first, in order. Calling
 * {@code start()} before your handlers are in is harmless: delivery then waits for your first read. Write {@code ByteBuf}s; in WebSocket
 * mode each write becomes one or more binary messages.
 *
 * <p>Half-close (upgrade mode): {@link #shutdownOutput()} sends TLS close_notify to the relay (or a
 * FIN, on a circuit connection without relay TLS), which passes the end of stream to the other node
 * while the other direction keeps flowing. The other
 * node's end of stream arrives as an {@code SslCloseCompletionEvent} (relay's close_notify) or a
 * {@code ChannelInputShutdownEvent} (TCP FIN) user event. WebSocket has no half-close: there,
 * {@code shutdownOutput()} closes the circuit.
 */
public final class CircuitConnection {
    private final Channel channel;
    private final CircuitId circuitId;
    private final NodeKey peer;
    private final String service;
    private final boolean dialer;
    private final ConnectMode mode;

    CircuitConnection(
            Channel channel, CircuitId circuitId, NodeKey peer, String service, boolean dialer, ConnectMode mode) {
        this.channel = Objects.requireNonNull(channel);
        this.circuitId = circuitId;
        this.peer = peer;
        this.service = service;
        this.dialer = dialer;
        this.mode = mode;
    }

    public Channel channel() {
        return channel;
    }

    public ChannelPipeline pipeline() {
        return channel.pipeline();
    }

    public CircuitId circuitId() {
        return circuitId;
    }

    /** The other node: the destination when we dialled, the relay-authenticated source when we listened. */
    public NodeKey peer() {
        return peer;
    }

    public String service() {
        return service;
    }

    /** True on the dialing side. */
    public boolean dialer() {
        return dialer;
    }

    /** {@link ConnectMode#UPGRADE} (raw TLS stream; half-close works) or {@link ConnectMode#WEBSOCKET}. */
    public ConnectMode mode() {
        return mode;
    }

    /**
     * Delivers held-back bytes and events to the handlers added after hand-over (or, when none are
     * added yet, at the first read request). Safe from any thread, idempotent; does not change
     * {@code autoRead}.
     */
    public void start() {
        if (channel.eventLoop().inEventLoop()) {
            startNow();
        } else {
            channel.eventLoop().execute(this::startNow);
        }
    }

    private void startNow() {
        CircuitStartBuffer buffer = channel.pipeline().get(CircuitStartBuffer.class);
        if (buffer != null) {
            buffer.start(channel.pipeline());
        }
    }

    /** Ends our direction of the circuit after pending writes; see the class comment. Safe from any thread. */
    public ChannelFuture shutdownOutput() {
        SslHandler tls = channel.pipeline().get(SslHandler.class);
        if (mode == ConnectMode.WEBSOCKET) {
            return channel.close();
        }
        if (tls == null) {
            // A circuit connection without relay TLS: FIN ends our direction.
            if (channel instanceof DuplexChannel d) {
                return d.shutdownOutput();
            }
            return channel.close();
        }
        ChannelPromise done = channel.newPromise();
        channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (f.isSuccess()) {
                tls.closeOutbound(done);
            } else {
                done.tryFailure(f.cause());
            }
        });
        return done;
    }

    public ChannelFuture close() {
        return channel.close();
    }

    @Override
    public String toString() {
        return "CircuitConnection[" + circuitId + " " + (dialer ? "to " : "from ") + peer.shortId() + "/" + service
                + "]";
    }
}
