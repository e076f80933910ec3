package dev.burrow.protocol.frame;

import static dev.burrow.protocol.frame.BoundedReads.need;
import static dev.burrow.protocol.frame.BoundedReads.readBytes;
import static dev.burrow.protocol.frame.BoundedReads.readCircuitId;
import static dev.burrow.protocol.frame.BoundedReads.readKey;
import static dev.burrow.protocol.frame.BoundedReads.readU16;
import static dev.burrow.protocol.frame.BoundedReads.readU32;
import static dev.burrow.protocol.frame.BoundedReads.readU8;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.BAD_FIELD;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.WRONG_DIRECTION;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Pure encoding and decoding of relay frames: a {@link ByteBuf} in, a record out, and back. No
 * channel, no state. Decoding reads only within the given payload and throws only
 * {@link ProtocolViolation}.
 *
 * <p>Forward compatibility: frames with fixed fields may grow new fields at their end in later
 * versions, so trailing bytes after the known fields are ignored (PING/PONG and datagrams use the
 * whole payload and have none).
 */
public final class FrameCodec {
    private FrameCodec() {}

    /** Which side is decoding: a relay decodes client frames, a client decodes relay frames. */
    public enum Side {
        RELAY {
            @Override
            Frame decode(FrameType type, ByteBuf payload) {
                return decodeClientFrame(type, payload);
            }
        },
        CLIENT {
            @Override
            Frame decode(FrameType type, ByteBuf payload) {
                return decodeRelayFrame(type, payload);
            }
        };

        abstract Frame decode(FrameType type, ByteBuf payload);
    }

    // ---------------------------------------------------------------- decoding

    /**
     * Decodes a frame sent by a client. Datagram payloads are retained slices of {@code payload};
     * the caller still owns (and releases) {@code payload} itself.
     */
    public static ClientFrame decodeClientFrame(FrameType type, ByteBuf payload) {
        if (!type.sentByClient()) {
            throw new ProtocolViolation(WRONG_DIRECTION, type + " is not sent by clients");
        }
        return switch (type) {
            case CLIENT_AUTH -> decodeClientAuth(payload);
            case SEND_DATAGRAM ->
                new ClientFrame.SendDatagram(readKey(payload), payload.readRetainedSlice(payload.readableBytes()));
            case PING -> new Frame.Ping(readPingData(payload));
            case PONG -> new Frame.Pong(readPingData(payload));
            case CIRCUIT_REQUEST -> {
                long requestId = readU32(payload);
                NodeKey dst = readKey(payload);
                yield new ClientFrame.CircuitRequest(requestId, dst, readServiceName(payload));
            }
            case CIRCUIT_ACCEPT -> new ClientFrame.CircuitAccept(readCircuitId(payload));
            case CIRCUIT_REJECT -> {
                CircuitId id = readCircuitId(payload);
                CircuitRejectReason reason = CircuitRejectReason.fromCode(readU8(payload));
                yield new ClientFrame.CircuitReject(id, reason, readStr8(payload));
            }
            case CIRCUIT_ATTACH -> {
                CircuitId id = readCircuitId(payload);
                yield new ClientFrame.CircuitAttach(
                        id, CircuitToken.of(readBytes(payload, RelayProtocol.CIRCUIT_TOKEN_LENGTH)));
            }
            case PUBLISH -> decodePublish(payload);
            case UNPUBLISH -> new ClientFrame.Unpublish(readServiceName(payload));
            case LOOKUP_NAME -> {
                long requestId = readU32(payload);
                String name = readStr8(payload);
                if (!NodeNames.isValid(name)) {
                    throw new ProtocolViolation(BAD_FIELD, "invalid node name");
                }
                yield new ClientFrame.LookupName(requestId, name);
            }
            default -> throw new ProtocolViolation(WRONG_DIRECTION, type + " is not sent by clients");
        };
    }

    /** Decodes a frame sent by a relay (same ownership rules as {@link #decodeClientFrame}). */
    public static RelayFrame decodeRelayFrame(FrameType type, ByteBuf payload) {
        if (!type.sentByRelay()) {
            throw new ProtocolViolation(WRONG_DIRECTION, type + " is not sent by relays");
        }
        return switch (type) {
            case SERVER_HELLO -> {
                int version = readU16(payload);
                int minVersion = readU16(payload);
                byte[] challenge = readBytes(payload, RelayProtocol.CHALLENGE_LENGTH);
                yield new RelayFrame.ServerHello(version, minVersion, challenge, readStr8(payload));
            }
            case SERVER_ACCEPT -> {
                long keepalive = readU32(payload);
                long maxDatagram = readU32(payload);
                String observed = readStr8(payload);
                // a trailing u16 STUN port since 0.3.0; older relays end here (trailing bytes beyond it are ignored)
                int stunPort =
                        payload.readableBytes() >= 2 ? readU16(payload) : RelayFrame.ServerAccept.STUN_PORT_ABSENT;
                yield new RelayFrame.ServerAccept(keepalive, maxDatagram, observed, stunPort);
            }
            case DENY -> {
                DenyReason reason = DenyReason.fromCode(readU8(payload));
                yield new RelayFrame.Deny(reason, readStr8(payload));
            }
            case RECV_DATAGRAM ->
                new RelayFrame.RecvDatagram(readKey(payload), payload.readRetainedSlice(payload.readableBytes()));
            case PEER_PRESENT -> new RelayFrame.PeerPresent(readKey(payload));
            case PEER_GONE -> {
                NodeKey peer = readKey(payload);
                yield new RelayFrame.PeerGone(peer, PeerGoneReason.fromCode(readU8(payload)));
            }
            case PING -> new Frame.Ping(readPingData(payload));
            case PONG -> new Frame.Pong(readPingData(payload));
            case KEEPALIVE -> new RelayFrame.Keepalive();
            case HEALTH -> new RelayFrame.Health(readStr8(payload));
            case RESTARTING -> new RelayFrame.Restarting(readU32(payload), readU32(payload));
            case RATE_LIMITED -> new RelayFrame.RateLimited(readU32(payload), readU32(payload));
            case CIRCUIT_OFFER -> {
                CircuitId id = readCircuitId(payload);
                NodeKey src = readKey(payload);
                String service = readServiceName(payload);
                CircuitToken token = CircuitToken.of(readBytes(payload, RelayProtocol.CIRCUIT_TOKEN_LENGTH));
                int flags = payload.isReadable() ? readU8(payload) : 0; // absent before 0.2.0
                yield new RelayFrame.CircuitOffer(id, src, service, token, flags);
            }
            case CIRCUIT_ACCEPTED -> {
                long requestId = readU32(payload);
                CircuitId id = readCircuitId(payload);
                yield new RelayFrame.CircuitAccepted(
                        requestId, id, CircuitToken.of(readBytes(payload, RelayProtocol.CIRCUIT_TOKEN_LENGTH)));
            }
            case CIRCUIT_REJECTED -> {
                long requestId = readU32(payload);
                CircuitRejectReason reason = CircuitRejectReason.fromCode(readU8(payload));
                yield new RelayFrame.CircuitRejected(requestId, reason, readStr8(payload));
            }
            case CIRCUIT_ATTACHED -> new RelayFrame.CircuitAttached();
            case PUBLISHED -> {
                String service = readServiceName(payload);
                int port = readU16(payload);
                if (port == 0) {
                    throw new ProtocolViolation(BAD_FIELD, "port 0");
                }
                yield new RelayFrame.Published(service, port, readStr8(payload));
            }
            case PUBLISH_REFUSED -> {
                String service = readServiceName(payload);
                PublishRefusedReason reason = PublishRefusedReason.fromCode(readU8(payload));
                yield new RelayFrame.PublishRefused(service, reason, readStr8(payload));
            }
            case NAME_RESULT -> {
                long requestId = readU32(payload);
                int count = readU8(payload);
                if (count > FrameLimits.MAX_NAME_RESULT_KEYS) {
                    throw new ProtocolViolation(BAD_FIELD, "more than " + FrameLimits.MAX_NAME_RESULT_KEYS + " keys");
                }
                List<NodeKey> keys = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    keys.add(readKey(payload));
                }
                yield new RelayFrame.NameResult(requestId, keys);
            }
            default -> throw new ProtocolViolation(WRONG_DIRECTION, type + " is not sent by relays");
        };
    }

    private static ClientFrame.ClientAuth decodeClientAuth(ByteBuf in) {
        int version = readU16(in);
        int flags = readU16(in);
        NodeKey key = readKey(in);
        byte[] signature = readBytes(in, RelayProtocol.SIGNATURE_LENGTH);
        int chainLength = readU16(in);
        need(in, chainLength, "certificate chain");
        ByteBuf chainBytes = in.readSlice(chainLength);
        List<byte[]> chain = new ArrayList<>(2);
        while (chainBytes.isReadable()) {
            if (chain.size() == FrameLimits.MAX_CHAIN_CERTIFICATES) {
                throw new ProtocolViolation(
                        BAD_FIELD, "more than " + FrameLimits.MAX_CHAIN_CERTIFICATES + " certificates");
            }
            int certLength = readU16(chainBytes);
            if (certLength == 0) {
                throw new ProtocolViolation(BAD_FIELD, "empty certificate");
            }
            chain.add(readBytes(chainBytes, certLength));
        }
        String software = readStr8(in);
        return new ClientFrame.ClientAuth(version, flags, key, signature, chain, software);
    }

    private static ClientFrame.Publish decodePublish(ByteBuf in) {
        String service = readServiceName(in);
        long maxConnections = readU32(in);
        long idleMillis = readU32(in);
        int count = readU8(in);
        if (count == 0 || count > FrameLimits.MAX_INGRESS_SOURCES) {
            throw new ProtocolViolation(
                    BAD_FIELD, "PUBLISH needs 1 to " + FrameLimits.MAX_INGRESS_SOURCES + " source prefixes");
        }
        List<SourcePrefix> sources = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            int prefix = readU8(in);
            int length = readU8(in);
            if (length != 4 && length != 16) {
                throw new ProtocolViolation(BAD_FIELD, "source address length must be 4 or 16");
            }
            if (prefix > length * 8) {
                throw new ProtocolViolation(BAD_FIELD, "source prefix length too long");
            }
            sources.add(new SourcePrefix(readBytes(in, length), prefix));
        }
        return new ClientFrame.Publish(service, maxConnections, idleMillis, sources);
    }

    // ---------------------------------------------------------------- encoding

    /** Header plus payload length of {@code frame}. */
    public static int encodedLength(Frame frame) {
        return FrameLimits.HEADER_LENGTH + payloadLength(frame);
    }

    /** Payload length of {@code frame} (what the header's length field says). */
    public static int payloadLength(Frame frame) {
        return switch (frame) {
            case ClientFrame.ClientAuth a ->
                2 + 2 + NodeKey.LENGTH + RelayProtocol.SIGNATURE_LENGTH + 2 + chainLength(a) + str8Length(a.software());
            case DatagramFrame d -> NodeKey.LENGTH + d.payload().readableBytes();
            case Frame.Ping p -> p.data().length;
            case Frame.Pong p -> p.data().length;
            case ClientFrame.CircuitRequest r -> 4 + NodeKey.LENGTH + str8Length(r.service());
            case ClientFrame.CircuitAccept a -> RelayProtocol.CIRCUIT_ID_LENGTH;
            case ClientFrame.CircuitReject r -> RelayProtocol.CIRCUIT_ID_LENGTH + 1 + str8Length(r.message());
            case ClientFrame.CircuitAttach a -> RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH;
            case ClientFrame.Publish p ->
                str8Length(p.service())
                        + 4
                        + 4
                        + 1
                        + p.sources().stream()
                                .mapToInt(SourcePrefix::encodedLength)
                                .sum();
            case ClientFrame.Unpublish u -> str8Length(u.service());
            case RelayFrame.ServerHello h -> 2 + 2 + RelayProtocol.CHALLENGE_LENGTH + str8Length(h.relayId());
            case RelayFrame.ServerAccept a ->
                4
                        + 4
                        + str8Length(a.observedAddress())
                        + (a.stunPort() == RelayFrame.ServerAccept.STUN_PORT_ABSENT ? 0 : 2);
            case RelayFrame.Deny d -> 1 + str8Length(d.message());
            case RelayFrame.PeerPresent p -> NodeKey.LENGTH;
            case RelayFrame.PeerGone g -> NodeKey.LENGTH + 1;
            case RelayFrame.Keepalive k -> 0;
            case RelayFrame.Health h -> str8Length(h.problem());
            case RelayFrame.Restarting r -> 8;
            case RelayFrame.RateLimited r -> 8;
            case RelayFrame.CircuitOffer o ->
                RelayProtocol.CIRCUIT_ID_LENGTH
                        + NodeKey.LENGTH
                        + str8Length(o.service())
                        + RelayProtocol.CIRCUIT_TOKEN_LENGTH
                        + (o.flags() == 0 ? 0 : 1);
            case RelayFrame.CircuitAccepted a ->
                4 + RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH;
            case RelayFrame.CircuitRejected r -> 4 + 1 + str8Length(r.message());
            case RelayFrame.CircuitAttached a -> 0;
            case RelayFrame.Published p -> str8Length(p.service()) + 2 + str8Length(p.publicAddress());
            case RelayFrame.PublishRefused r -> str8Length(r.service()) + 1 + str8Length(r.message());
            case ClientFrame.LookupName l -> 4 + str8Length(l.name());
            case RelayFrame.NameResult r -> 4 + 1 + r.keys().size() * NodeKey.LENGTH;
            case Frame.Unknown u -> throw new IllegalArgumentException("unknown frames are never sent");
        };
    }

    /** Writes header and payload of {@code frame} (datagram payloads are copied; see {@link #encodeHeader}). */
    public static void encode(Frame frame, ByteBuf out) {
        encodeHeader(frame, out);
        if (frame instanceof DatagramFrame d) {
            ByteBuf p = d.payload();
            out.writeBytes(p, p.readerIndex(), p.readableBytes());
        }
    }

    /**
     * Writes the header and every payload byte except a datagram's payload, so that a handler can
     * send the datagram payload as a separate buffer without copying it.
     */
    public static void encodeHeader(Frame frame, ByteBuf out) {
        out.writeByte(frame.type().code());
        out.writeInt(payloadLength(frame));
        switch (frame) {
            case ClientFrame.ClientAuth a -> {
                out.writeShort(a.version());
                out.writeShort(a.flags());
                writeKey(out, a.key());
                out.writeBytes(a.signature());
                out.writeShort(chainLength(a));
                for (byte[] cert : a.certificateChain()) {
                    out.writeShort(cert.length);
                    out.writeBytes(cert);
                }
                writeStr8(out, a.software());
            }
            case DatagramFrame d -> writeKey(out, d.peer());
            case Frame.Ping p -> out.writeBytes(p.data());
            case Frame.Pong p -> out.writeBytes(p.data());
            case ClientFrame.CircuitRequest r -> {
                out.writeInt((int) r.requestId());
                writeKey(out, r.destination());
                writeStr8(out, r.service());
            }
            case ClientFrame.CircuitAccept a -> out.writeBytes(a.circuitId().bytes());
            case ClientFrame.CircuitReject r -> {
                out.writeBytes(r.circuitId().bytes());
                out.writeByte(r.reason().code());
                writeStr8(out, r.message());
            }
            case ClientFrame.CircuitAttach a -> {
                out.writeBytes(a.circuitId().bytes());
                out.writeBytes(a.token().rawBytes());
            }
            case RelayFrame.ServerHello h -> {
                out.writeShort(h.version());
                out.writeShort(h.minVersion());
                out.writeBytes(h.challenge());
                writeStr8(out, h.relayId());
            }
            case RelayFrame.ServerAccept a -> {
                out.writeInt((int) a.keepaliveMillis());
                out.writeInt((int) a.maxDatagram());
                writeStr8(out, a.observedAddress());
                if (a.stunPort() != RelayFrame.ServerAccept.STUN_PORT_ABSENT) {
                    out.writeShort(a.stunPort());
                }
            }
            case RelayFrame.Deny d -> {
                out.writeByte(d.reason().code());
                writeStr8(out, d.message());
            }
            case RelayFrame.PeerPresent p -> writeKey(out, p.peer());
            case RelayFrame.PeerGone g -> {
                writeKey(out, g.peer());
                out.writeByte(g.reason().code());
            }
            case RelayFrame.Keepalive k -> {}
            case RelayFrame.Health h -> writeStr8(out, h.problem());
            case RelayFrame.Restarting r -> {
                out.writeInt((int) r.reconnectInMillis());
                out.writeInt((int) r.tryForMillis());
            }
            case RelayFrame.RateLimited r -> {
                out.writeInt((int) r.bytesPerSecond());
                out.writeInt((int) r.burstBytes());
            }
            case RelayFrame.CircuitOffer o -> {
                out.writeBytes(o.circuitId().bytes());
                writeKey(out, o.source());
                writeStr8(out, o.service());
                out.writeBytes(o.token().rawBytes());
                if (o.flags() != 0) {
                    out.writeByte(o.flags()); // an ordinary offer keeps its 0.1.0 bytes exactly
                }
            }
            case RelayFrame.CircuitAccepted a -> {
                out.writeInt((int) a.requestId());
                out.writeBytes(a.circuitId().bytes());
                out.writeBytes(a.token().rawBytes());
            }
            case RelayFrame.CircuitRejected r -> {
                out.writeInt((int) r.requestId());
                out.writeByte(r.reason().code());
                writeStr8(out, r.message());
            }
            case RelayFrame.CircuitAttached a -> {}
            case ClientFrame.Publish p -> {
                writeStr8(out, p.service());
                out.writeInt((int) p.maxConnections());
                out.writeInt((int) p.idleTimeoutMillis());
                out.writeByte(p.sources().size());
                for (SourcePrefix sp : p.sources()) {
                    out.writeByte(sp.prefixLength());
                    byte[] a = sp.address();
                    out.writeByte(a.length);
                    out.writeBytes(a);
                }
            }
            case ClientFrame.Unpublish u -> writeStr8(out, u.service());
            case RelayFrame.Published p -> {
                writeStr8(out, p.service());
                out.writeShort(p.port());
                writeStr8(out, p.publicAddress());
            }
            case RelayFrame.PublishRefused r -> {
                writeStr8(out, r.service());
                out.writeByte(r.reason().code());
                writeStr8(out, r.message());
            }
            case ClientFrame.LookupName l -> {
                out.writeInt((int) l.requestId());
                writeStr8(out, l.name());
            }
            case RelayFrame.NameResult r -> {
                out.writeInt((int) r.requestId());
                out.writeByte(r.keys().size());
                for (NodeKey k : r.keys()) {
                    writeKey(out, k);
                }
            }
            case Frame.Unknown u -> throw new IllegalArgumentException("unknown frames are never sent");
        }
    }

    // ---------------------------------------------------------------- field helpers

    private static int chainLength(ClientFrame.ClientAuth a) {
        int n = 0;
        for (byte[] cert : a.certificateChain()) {
            n += 2 + cert.length;
        }
        return n;
    }

    private static int str8Length(String s) {
        return 1 + s.getBytes(StandardCharsets.UTF_8).length;
    }

    private static void writeStr8(ByteBuf out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeByte(b.length);
        out.writeBytes(b);
    }

    private static void writeKey(ByteBuf out, NodeKey key) {
        byte[] b = new byte[NodeKey.LENGTH];
        key.copyTo(b, 0);
        out.writeBytes(b);
    }

    private static byte[] readPingData(ByteBuf in) {
        int n = in.readableBytes();
        if (n < FrameLimits.MIN_PING_DATA || n > FrameLimits.MAX_PING_DATA) {
            throw new ProtocolViolation(
                    BAD_FIELD,
                    "ping data must be " + FrameLimits.MIN_PING_DATA + ".." + FrameLimits.MAX_PING_DATA + " bytes, got "
                            + n);
        }
        return readBytes(in, n);
    }

    private static String readStr8(ByteBuf in) {
        int n = readU8(in);
        need(in, n, "string");
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(in.readSlice(n).nioBuffer())
                    .toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolViolation(BAD_FIELD, "string is not valid UTF-8");
        }
    }

    private static String readServiceName(ByteBuf in) {
        String s = readStr8(in);
        if (!ServiceNames.isValid(s)) {
            throw new ProtocolViolation(BAD_FIELD, "invalid service name");
        }
        return s;
    }
}
