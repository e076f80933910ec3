package dev.burrow.relay.mesh;

import static dev.burrow.protocol.frame.BoundedReads.need;
import static dev.burrow.protocol.frame.BoundedReads.readBytes;
import static dev.burrow.protocol.frame.BoundedReads.readCircuitId;
import static dev.burrow.protocol.frame.BoundedReads.readKey;
import static dev.burrow.protocol.frame.BoundedReads.readToken;
import static dev.burrow.protocol.frame.BoundedReads.readU16;
import static dev.burrow.protocol.frame.BoundedReads.readU64;
import static dev.burrow.protocol.frame.BoundedReads.readU8;
import static dev.burrow.protocol.frame.ProtocolViolation.Kind.BAD_FIELD;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.FrameLimits;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.protocol.frame.ProtocolViolation;
import dev.burrow.protocol.frame.ServiceNames;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import io.netty.buffer.ByteBuf;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Pure encoding and decoding of mesh frames: a {@link ByteBuf} in, a record out, and back. No
 * channel, no state; decoding reads only within the payload and throws only {@link ProtocolViolation}.
 * Trailing bytes after the known fields of fixed-layout frames are ignored (room for later fields).
 */
public final class MeshCodec {
    private MeshCodec() {}

    /** Decodes one payload; a DATAGRAM's payload is a retained slice (the caller still releases {@code in}). */
    public static MeshFrame decode(MeshFrameType type, ByteBuf in) {
        return switch (type) {
            case HELLO -> {
                int version = readU16(in);
                int p = readU8(in);
                MeshProtocol.Purpose purpose = MeshProtocol.Purpose.of(p);
                if (purpose == null) {
                    throw new ProtocolViolation(BAD_FIELD, "unknown mesh purpose " + p);
                }
                byte[] instance = readBytes(in, MeshProtocol.INSTANCE_ID_LENGTH, "instance id");
                byte[] nonce = readBytes(in, MeshProtocol.NONCE_LENGTH, "nonce");
                yield new MeshFrame.Hello(version, purpose, instance, nonce, readStr8(in));
            }
            case AUTH -> new MeshFrame.Auth(readBytes(in, MeshAuth.MAC_LENGTH, "mac"));
            case KEEPALIVE -> new MeshFrame.Keepalive();
            case PRESENT -> new MeshFrame.Present(readKeys(in));
            case GONE -> new MeshFrame.Gone(readKeys(in));
            case NAMES -> new MeshFrame.Names(readNames(in));
            case DATAGRAM -> {
                NodeKey src = readKey(in);
                NodeKey dst = readKey(in);
                yield new MeshFrame.Datagram(src, dst, in.readRetainedSlice(in.readableBytes()));
            }
            case CIRCUIT_REQUEST -> {
                long id = readU64(in);
                NodeKey dialer = readKey(in);
                NodeKey listener = readKey(in);
                String service = readStr8(in);
                if (!ServiceNames.isValid(service)) {
                    throw new ProtocolViolation(BAD_FIELD, "invalid service name");
                }
                yield new MeshFrame.CircuitRequest(id, dialer, listener, service);
            }
            case CIRCUIT_ACCEPTED -> new MeshFrame.CircuitAccepted(readU64(in), readCircuitId(in), readToken(in));
            case CIRCUIT_REJECTED ->
                new MeshFrame.CircuitRejected(readU64(in), CircuitRejectReason.fromCode(readU8(in)), readStr8(in));
            case CIRCUIT_ATTACH -> new MeshFrame.CircuitAttach(readCircuitId(in), readToken(in));
            case CIRCUIT_BIND ->
                new MeshFrame.CircuitBind(readCircuitId(in), readBytes(in, MeshAuth.MAC_LENGTH, "bind mac"));
        };
    }

    /** The type of {@code frame}; null for {@link MeshFrame.Unknown} (never encoded). */
    public static MeshFrameType type(MeshFrame frame) {
        return switch (frame) {
            case MeshFrame.Hello h -> MeshFrameType.HELLO;
            case MeshFrame.Auth a -> MeshFrameType.AUTH;
            case MeshFrame.Keepalive k -> MeshFrameType.KEEPALIVE;
            case MeshFrame.Present p -> MeshFrameType.PRESENT;
            case MeshFrame.Gone g -> MeshFrameType.GONE;
            case MeshFrame.Names n -> MeshFrameType.NAMES;
            case MeshFrame.Datagram d -> MeshFrameType.DATAGRAM;
            case MeshFrame.CircuitRequest r -> MeshFrameType.CIRCUIT_REQUEST;
            case MeshFrame.CircuitAccepted a -> MeshFrameType.CIRCUIT_ACCEPTED;
            case MeshFrame.CircuitRejected r -> MeshFrameType.CIRCUIT_REJECTED;
            case MeshFrame.CircuitAttach a -> MeshFrameType.CIRCUIT_ATTACH;
            case MeshFrame.CircuitBind b -> MeshFrameType.CIRCUIT_BIND;
            case MeshFrame.Unknown u -> null;
        };
    }

    /** Header plus payload bytes of {@code frame}. */
    public static int encodedLength(MeshFrame frame) {
        return FrameLimits.HEADER_LENGTH + payloadLength(frame);
    }

    static int payloadLength(MeshFrame frame) {
        return switch (frame) {
            case MeshFrame.Hello h ->
                2 + 1 + MeshProtocol.INSTANCE_ID_LENGTH + MeshProtocol.NONCE_LENGTH + str8Length(h.relayId());
            case MeshFrame.Auth a -> MeshAuth.MAC_LENGTH;
            case MeshFrame.Keepalive k -> 0;
            case MeshFrame.Present p -> 2 + p.keys().size() * NodeKey.LENGTH;
            case MeshFrame.Gone g -> 2 + g.keys().size() * NodeKey.LENGTH;
            case MeshFrame.Names n -> {
                int len = 2;
                for (MeshFrame.Named e : n.entries()) {
                    len += NodeKey.LENGTH + 1 + e.name().length(); // node names are ASCII
                }
                yield len;
            }
            case MeshFrame.Datagram d -> 2 * NodeKey.LENGTH + d.payload().readableBytes();
            case MeshFrame.CircuitRequest r -> 8 + 2 * NodeKey.LENGTH + str8Length(r.service());
            case MeshFrame.CircuitAccepted a ->
                8 + RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH;
            case MeshFrame.CircuitRejected r -> 8 + 1 + str8Length(r.message());
            case MeshFrame.CircuitAttach a -> RelayProtocol.CIRCUIT_ID_LENGTH + RelayProtocol.CIRCUIT_TOKEN_LENGTH;
            case MeshFrame.CircuitBind b -> RelayProtocol.CIRCUIT_ID_LENGTH + MeshAuth.MAC_LENGTH;
            case MeshFrame.Unknown u -> throw new IllegalArgumentException("unknown frames are never sent");
        };
    }

    /** Writes header and payload; a DATAGRAM's payload is copied, not released (the caller owns the frame). */
    public static void encode(MeshFrame frame, ByteBuf out) {
        MeshFrameType type = type(frame);
        if (type == null) {
            throw new IllegalArgumentException("unknown frames are never sent");
        }
        int len = payloadLength(frame);
        if (len > type.maxPayload()) {
            throw new IllegalArgumentException(type + " payload of " + len + " bytes exceeds " + type.maxPayload());
        }
        out.writeByte(type.code());
        out.writeInt(len);
        switch (frame) {
            case MeshFrame.Hello h -> {
                out.writeShort(h.version());
                out.writeByte(h.purpose().code());
                out.writeBytes(h.instanceId());
                out.writeBytes(h.nonce());
                writeStr8(out, h.relayId());
            }
            case MeshFrame.Auth a -> out.writeBytes(a.mac());
            case MeshFrame.Keepalive k -> {}
            case MeshFrame.Present p -> writeKeys(out, p.keys());
            case MeshFrame.Gone g -> writeKeys(out, g.keys());
            case MeshFrame.Names n -> {
                out.writeShort(n.entries().size());
                for (MeshFrame.Named e : n.entries()) {
                    out.writeBytes(e.key().bytes());
                    out.writeByte(e.name().length());
                    out.writeCharSequence(e.name(), StandardCharsets.US_ASCII);
                }
            }
            case MeshFrame.Datagram d -> {
                out.writeBytes(d.source().bytes());
                out.writeBytes(d.destination().bytes());
                out.writeBytes(
                        d.payload(), d.payload().readerIndex(), d.payload().readableBytes());
            }
            case MeshFrame.CircuitRequest r -> {
                out.writeLong(r.meshRequestId());
                out.writeBytes(r.dialer().bytes());
                out.writeBytes(r.listener().bytes());
                writeStr8(out, r.service());
            }
            case MeshFrame.CircuitAccepted a -> {
                out.writeLong(a.meshRequestId());
                out.writeBytes(a.circuitId().bytes());
                out.writeBytes(a.token().bytes());
            }
            case MeshFrame.CircuitRejected r -> {
                out.writeLong(r.meshRequestId());
                out.writeByte(r.reason().code());
                writeStr8(out, r.message());
            }
            case MeshFrame.CircuitAttach a -> {
                out.writeBytes(a.circuitId().bytes());
                out.writeBytes(a.token().bytes());
            }
            case MeshFrame.CircuitBind b -> {
                out.writeBytes(b.circuitId().bytes());
                out.writeBytes(b.mac());
            }
            case MeshFrame.Unknown u -> throw new IllegalArgumentException("unknown frames are never sent");
        }
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] utf8(String s) {
        return (s == null ? "" : s).getBytes(StandardCharsets.UTF_8);
    }

    private static int str8Length(String s) {
        return 1 + Math.min(utf8(s).length, FrameLimits.MAX_SHORT_STRING);
    }

    /** Cuts at {@link FrameLimits#MAX_SHORT_STRING} bytes (messages and names are for humans). */
    private static void writeStr8(ByteBuf out, String s) {
        byte[] b = utf8(s);
        int n = Math.min(b.length, FrameLimits.MAX_SHORT_STRING);
        out.writeByte(n);
        out.writeBytes(b, 0, n);
    }

    private static void writeKeys(ByteBuf out, List<NodeKey> keys) {
        out.writeShort(keys.size());
        for (NodeKey k : keys) {
            out.writeBytes(k.bytes());
        }
    }

    private static List<NodeKey> readKeys(ByteBuf in) {
        int n = readU16(in);
        if (n > MeshProtocol.MAX_KEYS_PER_PRESENCE) {
            throw new ProtocolViolation(BAD_FIELD, "too many keys: " + n);
        }
        need(in, n * NodeKey.LENGTH, "keys");
        List<NodeKey> keys = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            keys.add(readKey(in));
        }
        return keys;
    }

    /**
     * NAMES entries: the count and every name length are checked against their limits before anything
     * is allocated for them; a name must be a valid node name (or empty = cleared).
     */
    private static List<MeshFrame.Named> readNames(ByteBuf in) {
        int n = readU16(in);
        if (n > MeshProtocol.MAX_NAMES_PER_FRAME) {
            throw new ProtocolViolation(BAD_FIELD, "too many names: " + n);
        }
        need(in, n * (NodeKey.LENGTH + 1), "names");
        List<MeshFrame.Named> entries = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            NodeKey key = readKey(in);
            int len = readU8(in);
            if (len > FrameLimits.MAX_NODE_NAME) {
                throw new ProtocolViolation(
                        BAD_FIELD, "node name of " + len + " bytes exceeds " + FrameLimits.MAX_NODE_NAME);
            }
            need(in, len, "name");
            String name = in.readCharSequence(len, StandardCharsets.US_ASCII).toString();
            if (len > 0 && !NodeNames.isValid(name)) {
                throw new ProtocolViolation(BAD_FIELD, "invalid node name");
            }
            entries.add(new MeshFrame.Named(key, name));
        }
        return entries;
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
}
