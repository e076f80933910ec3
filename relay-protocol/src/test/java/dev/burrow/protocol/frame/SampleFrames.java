package dev.burrow.protocol.frame;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.Unpooled;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** One well-formed instance of every frame type, for round-trip and fuzz-seed tests. */
public final class SampleFrames {
    private SampleFrames() {}

    public static NodeKey key(int fill) {
        byte[] b = new byte[NodeKey.LENGTH];
        Arrays.fill(b, (byte) fill);
        return NodeKey.of(b);
    }

    public static byte[] bytes(int length, int fill) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) fill);
        return b;
    }

    /** Frames keyed by type; datagram payloads are fresh unpooled buffers the caller must release. */
    public static Map<FrameType, Frame> oneOfEach() {
        Map<FrameType, Frame> m = new EnumMap<>(FrameType.class);
        CircuitId id = CircuitId.of(bytes(RelayProtocol.CIRCUIT_ID_LENGTH, 0x11));
        CircuitToken token = CircuitToken.of(bytes(RelayProtocol.CIRCUIT_TOKEN_LENGTH, 0x22));
        m.put(FrameType.SERVER_HELLO, new RelayFrame.ServerHello(1, 1, bytes(32, 0x33), "relay-0"));
        m.put(
                FrameType.CLIENT_AUTH,
                new ClientFrame.ClientAuth(
                        1,
                        ClientFrame.FLAG_ACCEPTS_CIRCUITS,
                        key(1),
                        bytes(64, 0x44),
                        List.of(bytes(300, 0x30), bytes(200, 0x31)),
                        "burrow/0.1.0"));
        m.put(FrameType.SERVER_ACCEPT, new RelayFrame.ServerAccept(60_000, 65_536, "203.0.113.7:41641"));
        m.put(FrameType.DENY, new RelayFrame.Deny(DenyReason.NOT_ALLOWED, "node not on the allow list"));
        m.put(
                FrameType.SEND_DATAGRAM,
                new ClientFrame.SendDatagram(
                        key(2), Unpooled.wrappedBuffer("hello".getBytes(StandardCharsets.US_ASCII))));
        m.put(
                FrameType.RECV_DATAGRAM,
                new RelayFrame.RecvDatagram(
                        key(3), Unpooled.wrappedBuffer("world".getBytes(StandardCharsets.US_ASCII))));
        m.put(FrameType.PEER_PRESENT, new RelayFrame.PeerPresent(key(4)));
        m.put(FrameType.PEER_GONE, new RelayFrame.PeerGone(key(5), PeerGoneReason.NOT_HERE));
        m.put(FrameType.PING, new Frame.Ping(bytes(8, 0x55)));
        m.put(FrameType.PONG, new Frame.Pong(bytes(1000, 0x66)));
        m.put(FrameType.KEEPALIVE, new RelayFrame.Keepalive());
        m.put(FrameType.HEALTH, new RelayFrame.Health("another connection with your key is active"));
        m.put(FrameType.RESTARTING, new RelayFrame.Restarting(5_000, 60_000));
        m.put(FrameType.RATE_LIMITED, new RelayFrame.RateLimited(1_250_000, 65_568));
        m.put(FrameType.CIRCUIT_REQUEST, new ClientFrame.CircuitRequest(0xFFFF_FFFEL, key(6), "web"));
        m.put(
                FrameType.CIRCUIT_OFFER,
                new RelayFrame.CircuitOffer(id, key(7), "db.primary", token, RelayFrame.CircuitOffer.FLAG_INGRESS));
        m.put(FrameType.CIRCUIT_ACCEPT, new ClientFrame.CircuitAccept(id));
        m.put(
                FrameType.CIRCUIT_REJECT,
                new ClientFrame.CircuitReject(id, CircuitRejectReason.NOT_ALLOWED, "bob is not allowed"));
        m.put(FrameType.CIRCUIT_ACCEPTED, new RelayFrame.CircuitAccepted(7, id, token));
        m.put(FrameType.CIRCUIT_REJECTED, new RelayFrame.CircuitRejected(7, CircuitRejectReason.PEER_NOT_FOUND, ""));
        m.put(FrameType.CIRCUIT_ATTACH, new ClientFrame.CircuitAttach(id, token));
        m.put(FrameType.CIRCUIT_ATTACHED, new RelayFrame.CircuitAttached());
        m.put(
                FrameType.PUBLISH,
                new ClientFrame.Publish(
                        "webhook",
                        64,
                        300_000,
                        List.of(SourcePrefix.parse("203.0.113.0/24"), SourcePrefix.parse("2001:db8::/32"))));
        m.put(FrameType.UNPUBLISH, new ClientFrame.Unpublish("webhook"));
        m.put(FrameType.PUBLISHED, new RelayFrame.Published("webhook", 20_001, "relay.example.com:20001"));
        m.put(
                FrameType.PUBLISH_REFUSED,
                new RelayFrame.PublishRefused(
                        "webhook", PublishRefusedReason.NOT_ENABLED, "public ingress is off on this relay"));
        m.put(FrameType.LOOKUP_NAME, new ClientFrame.LookupName(0x0102_0304L, "alice"));
        m.put(FrameType.NAME_RESULT, new RelayFrame.NameResult(0x0102_0304L, List.of(key(8), key(9))));
        return m;
    }

    /** Encoded bytes of every sample frame, for fuzz seeds. */
    public static List<byte[]> encodedSamples() {
        List<byte[]> out = new ArrayList<>();
        for (Frame f : oneOfEach().values()) {
            io.netty.buffer.ByteBuf buf = Unpooled.buffer();
            FrameCodec.encode(f, buf);
            byte[] b = new byte[buf.readableBytes()];
            buf.readBytes(b);
            buf.release();
            if (f instanceof DatagramFrame d) {
                d.release();
            }
            out.add(b);
        }
        return out;
    }
}
