package dev.burrow.agent.disco;

import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Pure encode/decode of disco packets (the framing, {@link DiscoPacket}) and messages (the
 * plaintext, {@link DiscoMessage}). No state and no crypto: {@link DiscoBox} seals and opens.
 * Decoders read only the buffer's readable bytes, never change its reader index and throw only
 * {@link DiscoDecodeException}.
 */
public final class DiscoCodec {
    private DiscoCodec() {}

    /** True when the datagram starts with the disco magic (a cheap test for demultiplexing). */
    public static boolean looksLikeDisco(ByteBuf buf) {
        if (buf.readableBytes() < DiscoLimits.MAGIC.length) {
            return false;
        }
        int r = buf.readerIndex();
        for (int i = 0; i < DiscoLimits.MAGIC.length; i++) {
            if (buf.getByte(r + i) != DiscoLimits.MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /** Writes the 61 header bytes (also the AAD of the box). */
    public static byte[] header(NodeKey sender, byte[] session, long counter) {
        byte[] h = new byte[DiscoLimits.HEADER_LENGTH];
        System.arraycopy(DiscoLimits.MAGIC, 0, h, 0, 4);
        h[4] = (byte) DiscoLimits.VERSION;
        sender.copyTo(h, 5);
        System.arraycopy(session, 0, h, 37, DiscoLimits.SESSION_LENGTH);
        for (int i = 0; i < 8; i++) {
            h[53 + i] = (byte) (counter >>> (56 - 8 * i));
        }
        return h;
    }

    public static ByteBuf encodePacket(DiscoPacket p, ByteBufAllocator alloc) {
        byte[] sealed = p.sealed();
        ByteBuf out = alloc.buffer(DiscoLimits.HEADER_LENGTH + sealed.length);
        out.writeBytes(header(p.sender(), p.session(), p.counter()));
        out.writeBytes(sealed);
        return out;
    }

    /** Frames a packet: magic, version, lengths and limits; the box is not opened here. */
    public static DiscoPacket decodePacket(ByteBuf buf) throws DiscoDecodeException {
        int n = buf.readableBytes();
        if (n < DiscoLimits.MIN_PACKET) {
            throw new DiscoDecodeException("packet of " + n + " bytes is shorter than " + DiscoLimits.MIN_PACKET);
        }
        if (n > DiscoLimits.MAX_PACKET) {
            throw new DiscoDecodeException("packet of " + n + " bytes exceeds " + DiscoLimits.MAX_PACKET);
        }
        if (!looksLikeDisco(buf)) {
            throw new DiscoDecodeException("no disco magic");
        }
        int r = buf.readerIndex();
        int version = buf.getUnsignedByte(r + 4);
        if (version != DiscoLimits.VERSION) {
            throw new DiscoDecodeException("unsupported disco version " + version);
        }
        byte[] key = new byte[NodeKey.LENGTH];
        buf.getBytes(r + 5, key);
        byte[] session = new byte[DiscoLimits.SESSION_LENGTH];
        buf.getBytes(r + 37, session);
        long counter = buf.getLong(r + 53);
        byte[] sealed = new byte[n - DiscoLimits.HEADER_LENGTH];
        buf.getBytes(r + DiscoLimits.HEADER_LENGTH, sealed);
        return new DiscoPacket(NodeKey.of(key), session, counter, sealed);
    }

    /** The plaintext of a message. */
    public static byte[] encodeMessage(DiscoMessage m) {
        return switch (m) {
            case DiscoMessage.Ping p -> {
                byte[] out = new byte[1 + DiscoLimits.TX_ID_LENGTH + p.padding()];
                out[0] = (byte) DiscoMessageType.PING.code();
                System.arraycopy(p.txId(), 0, out, 1, DiscoLimits.TX_ID_LENGTH);
                yield out;
            }
            case DiscoMessage.Pong p -> {
                byte[] out = new byte[1 + DiscoLimits.TX_ID_LENGTH + DiscoLimits.ENDPOINT_LENGTH];
                out[0] = (byte) DiscoMessageType.PONG.code();
                System.arraycopy(p.txId(), 0, out, 1, DiscoLimits.TX_ID_LENGTH);
                writeEndpoint(p.observed(), out, 1 + DiscoLimits.TX_ID_LENGTH);
                yield out;
            }
            case DiscoMessage.CallMeMaybe c -> {
                byte[] out = new byte[1 + c.endpoints().size() * DiscoLimits.ENDPOINT_LENGTH];
                out[0] = (byte) DiscoMessageType.CALL_ME_MAYBE.code();
                int off = 1;
                for (InetSocketAddress a : c.endpoints()) {
                    writeEndpoint(a, out, off);
                    off += DiscoLimits.ENDPOINT_LENGTH;
                }
                yield out;
            }
            case DiscoMessage.NatInfo n -> {
                byte[] out = new byte[3 + (n.portMapProtocol() == 0 ? 0 : DiscoLimits.ENDPOINT_LENGTH)];
                out[0] = (byte) DiscoMessageType.NAT_INFO.code();
                out[1] = (byte) n.mapping().ordinal();
                out[2] = (byte) n.portMapProtocol();
                if (n.portMapped() != null) {
                    writeEndpoint(n.portMapped(), out, 3);
                }
                yield out;
            }
            case DiscoMessage.Unknown u -> {
                byte[] payload = u.payload();
                byte[] out = new byte[1 + payload.length];
                out[0] = (byte) u.type();
                System.arraycopy(payload, 0, out, 1, payload.length);
                yield out;
            }
        };
    }

    /** Parses a plaintext; trailing bytes after a PONG's fields are ignored (later versions may add fields). */
    public static DiscoMessage decodeMessage(byte[] in) throws DiscoDecodeException {
        if (in.length < 1) {
            throw new DiscoDecodeException("empty message");
        }
        if (in.length > DiscoLimits.MAX_PLAINTEXT) {
            throw new DiscoDecodeException("message of " + in.length + " bytes exceeds " + DiscoLimits.MAX_PLAINTEXT);
        }
        int type = in[0] & 0xFF;
        DiscoMessageType t = DiscoMessageType.of(type);
        if (t == null) {
            byte[] payload = new byte[in.length - 1];
            System.arraycopy(in, 1, payload, 0, payload.length);
            return new DiscoMessage.Unknown(type, payload);
        }
        return switch (t) {
            case PING -> {
                if (in.length < 1 + DiscoLimits.TX_ID_LENGTH) {
                    throw new DiscoDecodeException("short PING");
                }
                yield new DiscoMessage.Ping(txId(in), in.length - 1 - DiscoLimits.TX_ID_LENGTH);
            }
            case PONG -> {
                if (in.length < 1 + DiscoLimits.TX_ID_LENGTH + DiscoLimits.ENDPOINT_LENGTH) {
                    throw new DiscoDecodeException("short PONG");
                }
                yield new DiscoMessage.Pong(txId(in), readEndpoint(in, 1 + DiscoLimits.TX_ID_LENGTH));
            }
            case CALL_ME_MAYBE -> {
                int len = in.length - 1;
                if (len == 0 || len % DiscoLimits.ENDPOINT_LENGTH != 0) {
                    throw new DiscoDecodeException("CALL_ME_MAYBE endpoint list of " + len + " bytes");
                }
                int count = len / DiscoLimits.ENDPOINT_LENGTH;
                if (count > DiscoLimits.MAX_ENDPOINTS) {
                    throw new DiscoDecodeException("CALL_ME_MAYBE with " + count + " endpoints");
                }
                List<InetSocketAddress> eps = new ArrayList<>(count);
                for (int i = 0; i < count; i++) {
                    eps.add(readEndpoint(in, 1 + i * DiscoLimits.ENDPOINT_LENGTH));
                }
                yield new DiscoMessage.CallMeMaybe(eps);
            }
            case NAT_INFO -> {
                if (in.length < 3) {
                    throw new DiscoDecodeException("short NAT_INFO");
                }
                int pm = in[2] & 0xFF;
                if (pm > 3) {
                    pm = 0; // a later version's protocol: read as none
                }
                if (pm != 0 && in.length < 3 + DiscoLimits.ENDPOINT_LENGTH) {
                    throw new DiscoDecodeException("NAT_INFO without its port-mapped endpoint");
                }
                yield new DiscoMessage.NatInfo(
                        DiscoMessage.NatMapping.of(in[1] & 0xFF), pm, pm == 0 ? null : readEndpoint(in, 3));
            }
        };
    }

    private static byte[] txId(byte[] in) {
        byte[] tx = new byte[DiscoLimits.TX_ID_LENGTH];
        System.arraycopy(in, 1, tx, 0, tx.length);
        return tx;
    }

    /** 16-byte address (IPv4 as ::ffff:a.b.c.d) and a u16 port. */
    static void writeEndpoint(InetSocketAddress a, byte[] out, int off) {
        InetAddress ip = a.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("unresolved endpoint " + a);
        }
        byte[] raw = ip.getAddress();
        if (ip instanceof Inet4Address) {
            out[off + 10] = (byte) 0xFF;
            out[off + 11] = (byte) 0xFF;
            System.arraycopy(raw, 0, out, off + 12, 4);
        } else {
            System.arraycopy(raw, 0, out, off, 16);
        }
        out[off + 16] = (byte) (a.getPort() >>> 8);
        out[off + 17] = (byte) a.getPort();
    }

    static InetSocketAddress readEndpoint(byte[] in, int off) throws DiscoDecodeException {
        byte[] raw = new byte[16];
        System.arraycopy(in, off, raw, 0, 16);
        int port = ((in[off + 16] & 0xFF) << 8) | (in[off + 17] & 0xFF);
        if (port == 0) {
            throw new DiscoDecodeException("endpoint with port 0");
        }
        try {
            // getByAddress turns ::ffff:a.b.c.d into an Inet4Address
            return new InetSocketAddress(InetAddress.getByAddress(raw), port);
        } catch (UnknownHostException e) {
            throw new DiscoDecodeException("bad endpoint address");
        }
    }
}
