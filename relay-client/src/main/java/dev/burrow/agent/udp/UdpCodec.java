package dev.burrow.agent.udp;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ServiceNames;
import io.netty.buffer.ByteBuf;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Pure encode/decode of UDP-service packets (the framing, {@link UdpPacket}) and messages (the
 * plaintext, {@link UdpMessage}, layouts in {@link UdpMessageType}). No state and no crypto:
 * {@link UdpBox} seals and opens. Decoders read only the buffer's readable bytes, never change its
 * reader index, check every length against its limit before allocating, and throw only
 * {@link UdpDecodeException}.
 */
public final class UdpCodec {
    private UdpCodec() {}

    /** True when the datagram starts with the UDP magic (cheap demultiplexing beside disco). */
    public static boolean looksLikeUdp(ByteBuf buf) {
        if (buf.readableBytes() < UdpLimits.MAGIC.length) {
            return false;
        }
        int r = buf.readerIndex();
        for (int i = 0; i < UdpLimits.MAGIC.length; i++) {
            if (buf.getByte(r + i) != UdpLimits.MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /** The 61 header bytes (also the AAD of the box). */
    public static byte[] header(NodeKey sender, byte[] session, long counter) {
        byte[] h = new byte[UdpLimits.HEADER_LENGTH];
        System.arraycopy(UdpLimits.MAGIC, 0, h, 0, 4);
        h[4] = (byte) UdpLimits.VERSION;
        sender.copyTo(h, 5);
        System.arraycopy(session, 0, h, 37, UdpLimits.SESSION_LENGTH);
        putLong(h, 53, counter);
        return h;
    }

    /** Frames a packet: magic, version, lengths and limits; the box is not opened here. */
    public static UdpPacket decodePacket(ByteBuf buf) throws UdpDecodeException {
        int n = buf.readableBytes();
        if (n < UdpLimits.MIN_PACKET) {
            throw new UdpDecodeException("packet of " + n + " bytes is shorter than " + UdpLimits.MIN_PACKET);
        }
        if (n > UdpLimits.MAX_PACKET) {
            throw new UdpDecodeException("packet of " + n + " bytes exceeds " + UdpLimits.MAX_PACKET);
        }
        if (!looksLikeUdp(buf)) {
            throw new UdpDecodeException("no UDP magic");
        }
        int r = buf.readerIndex();
        int version = buf.getUnsignedByte(r + 4);
        if (version != UdpLimits.VERSION) {
            throw new UdpDecodeException("unsupported UDP packet version " + version);
        }
        byte[] key = new byte[NodeKey.LENGTH];
        buf.getBytes(r + 5, key);
        byte[] session = new byte[UdpLimits.SESSION_LENGTH];
        buf.getBytes(r + 37, session);
        long counter = buf.getLong(r + 53);
        byte[] sealed = new byte[n - UdpLimits.HEADER_LENGTH];
        buf.getBytes(r + UdpLimits.HEADER_LENGTH, sealed);
        return new UdpPacket(NodeKey.of(key), session, counter, sealed);
    }

    /** The plaintext of a message. */
    public static byte[] encodeMessage(UdpMessage m) {
        return switch (m) {
            case UdpMessage.Open o -> {
                byte[] service = o.service().getBytes(StandardCharsets.US_ASCII);
                byte[] cert = o.certificate();
                byte[] out = new byte[5 + 1 + service.length + 2 + cert.length];
                start(out, UdpMessageType.OPEN, o.flow());
                out[5] = (byte) service.length;
                System.arraycopy(service, 0, out, 6, service.length);
                int at = 6 + service.length;
                out[at] = (byte) (cert.length >>> 8);
                out[at + 1] = (byte) cert.length;
                System.arraycopy(cert, 0, out, at + 2, cert.length);
                yield out;
            }
            case UdpMessage.Data d -> withPayload(UdpMessageType.DATA, d.flow(), d.payload());
            case UdpMessage.Reply d -> withPayload(UdpMessageType.REPLY, d.flow(), d.payload());
            case UdpMessage.Close c -> {
                byte[] out = new byte[6];
                start(out, UdpMessageType.CLOSE, c.flow());
                out[5] = (byte) c.reason();
                yield out;
            }
            case UdpMessage.Closed c -> {
                byte[] out = new byte[6];
                start(out, UdpMessageType.CLOSED, c.flow());
                out[5] = (byte) c.reason();
                yield out;
            }
            case UdpMessage.Opened o -> {
                byte[] out = new byte[5 + UdpLimits.SESSION_LENGTH];
                start(out, UdpMessageType.OPENED, o.flow());
                System.arraycopy(o.session(), 0, out, 5, UdpLimits.SESSION_LENGTH);
                yield out;
            }
            case UdpMessage.Refused f -> {
                byte[] reason = f.reason().getBytes(StandardCharsets.UTF_8);
                byte[] out = new byte[5 + 1 + 1 + reason.length];
                start(out, UdpMessageType.REFUSED, f.flow());
                out[5] = (byte) f.code();
                out[6] = (byte) reason.length;
                System.arraycopy(reason, 0, out, 7, reason.length);
                yield out;
            }
            case UdpMessage.Unknown u -> {
                byte[] body = u.body();
                byte[] out = new byte[1 + body.length];
                out[0] = (byte) u.type();
                System.arraycopy(body, 0, out, 1, body.length);
                yield out;
            }
        };
    }

    /** Parses a plaintext. Trailing bytes after the fields of OPEN, CLOSE, OPENED, REFUSED and CLOSED are ignored (later versions may add fields). */
    public static UdpMessage decodeMessage(byte[] in) throws UdpDecodeException {
        if (in.length < 1) {
            throw new UdpDecodeException("empty message");
        }
        if (in.length > UdpLimits.MAX_PLAINTEXT) {
            throw new UdpDecodeException("message of " + in.length + " bytes exceeds " + UdpLimits.MAX_PLAINTEXT);
        }
        int type = in[0] & 0xFF;
        UdpMessageType t = UdpMessageType.of(type);
        if (t == null) {
            return new UdpMessage.Unknown(type, Arrays.copyOfRange(in, 1, in.length));
        }
        if (in.length < UdpLimits.MESSAGE_HEADER_LENGTH) {
            throw new UdpDecodeException("short " + t + " (no flow ID)");
        }
        long flow = ((in[1] & 0xFFL) << 24) | ((in[2] & 0xFFL) << 16) | ((in[3] & 0xFFL) << 8) | (in[4] & 0xFFL);
        return switch (t) {
            case OPEN -> {
                need(in, 6, t);
                int sl = in[5] & 0xFF;
                need(in, 6 + sl + 2, t);
                String service = new String(in, 6, sl, StandardCharsets.US_ASCII);
                if (!ServiceNames.isValid(service)) {
                    throw new UdpDecodeException("OPEN names an invalid service");
                }
                int at = 6 + sl;
                int cl = ((in[at] & 0xFF) << 8) | (in[at + 1] & 0xFF);
                if (cl > UdpLimits.MAX_CERTIFICATE) {
                    throw new UdpDecodeException(
                            "OPEN certificate of " + cl + " bytes exceeds " + UdpLimits.MAX_CERTIFICATE);
                }
                need(in, at + 2 + cl, t);
                yield new UdpMessage.Open(flow, service, Arrays.copyOfRange(in, at + 2, at + 2 + cl));
            }
            case DATA -> new UdpMessage.Data(flow, payload(in));
            case REPLY -> new UdpMessage.Reply(flow, payload(in));
            case CLOSE -> {
                need(in, 6, t);
                yield new UdpMessage.Close(flow, in[5] & 0xFF);
            }
            case CLOSED -> {
                need(in, 6, t);
                yield new UdpMessage.Closed(flow, in[5] & 0xFF);
            }
            case OPENED -> {
                need(in, 5 + UdpLimits.SESSION_LENGTH, t);
                yield new UdpMessage.Opened(flow, Arrays.copyOfRange(in, 5, 5 + UdpLimits.SESSION_LENGTH));
            }
            case REFUSED -> {
                need(in, 7, t);
                int rl = in[6] & 0xFF;
                need(in, 7 + rl, t);
                yield new UdpMessage.Refused(flow, in[5] & 0xFF, new String(in, 7, rl, StandardCharsets.UTF_8));
            }
        };
    }

    /** {@code reason} cut to at most {@link UdpLimits#MAX_REASON} UTF-8 bytes on a character boundary. */
    static String cut(String reason) {
        byte[] b = reason.getBytes(StandardCharsets.UTF_8);
        if (b.length <= UdpLimits.MAX_REASON) {
            return reason;
        }
        String s = reason;
        while (s.getBytes(StandardCharsets.UTF_8).length > UdpLimits.MAX_REASON) {
            s = s.substring(0, s.length() - 1);
        }
        return s;
    }

    private static byte[] withPayload(UdpMessageType t, long flow, byte[] payload) {
        byte[] out = new byte[UdpLimits.MESSAGE_HEADER_LENGTH + payload.length];
        start(out, t, flow);
        System.arraycopy(payload, 0, out, UdpLimits.MESSAGE_HEADER_LENGTH, payload.length);
        return out;
    }

    private static byte[] payload(byte[] in) throws UdpDecodeException {
        int n = in.length - UdpLimits.MESSAGE_HEADER_LENGTH;
        if (n > UdpLimits.MAX_PAYLOAD) {
            throw new UdpDecodeException("datagram of " + n + " bytes exceeds " + UdpLimits.MAX_PAYLOAD);
        }
        return Arrays.copyOfRange(in, UdpLimits.MESSAGE_HEADER_LENGTH, in.length);
    }

    private static void start(byte[] out, UdpMessageType t, long flow) {
        out[0] = (byte) t.code();
        out[1] = (byte) (flow >>> 24);
        out[2] = (byte) (flow >>> 16);
        out[3] = (byte) (flow >>> 8);
        out[4] = (byte) flow;
    }

    private static void need(byte[] in, int n, UdpMessageType t) throws UdpDecodeException {
        if (in.length < n) {
            throw new UdpDecodeException("short " + t + ": " + in.length + " bytes, needs " + n);
        }
    }

    private static void putLong(byte[] h, int off, long v) {
        for (int i = 0; i < 8; i++) {
            h[off + i] = (byte) (v >>> (56 - 8 * i));
        }
    }
}
