package dev.burrow.relay.server.testing;

import dev.burrow.identity.NodeVerifier;
import dev.burrow.protocol.frame.Frame;
import dev.burrow.protocol.frame.FrameCodec;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.FramePolicy;
import dev.burrow.protocol.frame.FrameType;
import dev.burrow.protocol.frame.RelayFrame;
import dev.burrow.protocol.frame.RelayFrameDecoder;
import dev.burrow.protocol.frame.RelayFrameEncoder;
import dev.burrow.relay.server.auth.Admissions;
import dev.burrow.relay.server.auth.ClientAdmission;
import dev.burrow.relay.server.auth.ClientAuthenticator;
import dev.burrow.relay.server.config.RelayConfig;
import dev.burrow.relay.server.forward.PeerWatchers;
import dev.burrow.relay.server.metrics.MicrometerRelayMetrics;
import dev.burrow.relay.server.net.ControlHandshakeHandler;
import dev.burrow.relay.server.net.RelayContext;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A relay's shared state without sockets, for {@link EmbeddedChannel} tests of the handlers. */
public final class EmbeddedRelay {
    public final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    public final MicrometerRelayMetrics metrics = new MicrometerRelayMetrics(meters);
    public final RelayContext rc;

    public EmbeddedRelay() {
        this(Admissions.open(), NodeVerifier.builder().acceptAnySelfSigned(true).build(), Map.of());
    }

    public EmbeddedRelay(ClientAdmission admission, NodeVerifier verifier, Map<String, String> settings) {
        RelayConfig cfg = TestRelays.config(settings);
        rc = RelayContext.builder(cfg, metrics, new ClientAuthenticator(verifier, admission))
                .watchers(new PeerWatchers(1000, 16, java.time.Duration.ofMinutes(1)))
                .build();
    }

    /** A control connection right after the HTTP upgrade: decoder awaiting auth, encoder, handshake handler. */
    public EmbeddedChannel control() {
        EmbeddedChannel ch = new EmbeddedChannel(
                new RelayFrameDecoder(FramePolicy.RELAY_AWAITING_AUTH),
                RelayFrameEncoder.INSTANCE,
                new ControlHandshakeHandler(rc));
        ch.runPendingTasks();
        return ch;
    }

    public double counter(String name, String tagKey, String tagValue) {
        Counter c = meters.find(name).tag(tagKey, tagValue).counter();
        return c == null ? 0 : c.count();
    }

    public static ByteBuf encode(Frame f) {
        ByteBuf b = Unpooled.buffer();
        FrameCodec.encode(f, b);
        return b;
    }

    /** Header of a frame with any type code and length, without payload. */
    public static ByteBuf header(int type, long length) {
        ByteBuf b = Unpooled.buffer(FrameLimits.HEADER_LENGTH);
        b.writeByte(type);
        b.writeInt((int) length);
        return b;
    }

    /** Decodes (and releases) everything the channel wrote. Datagram frames must be released by the caller. */
    public static List<RelayFrame> outbound(EmbeddedChannel ch) {
        ch.runPendingTasks();
        ByteBuf all = Unpooled.buffer();
        Object o;
        while ((o = ch.readOutbound()) != null) {
            ByteBuf b = (ByteBuf) o;
            all.writeBytes(b);
            b.release();
        }
        List<RelayFrame> out = new ArrayList<>();
        while (all.readableBytes() >= FrameLimits.HEADER_LENGTH) {
            int type = all.readUnsignedByte();
            int len = (int) all.readUnsignedInt();
            ByteBuf payload = all.readSlice(len);
            out.add(FrameCodec.decodeRelayFrame(FrameType.fromCode(type), payload));
        }
        all.release();
        return out;
    }
}
