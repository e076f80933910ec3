package dev.burrow.stun.codec;

import static dev.burrow.stun.codec.StunDecodeException.Reason.*;

import dev.burrow.stun.codec.StunAttribute.*;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.CRC32;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Pure STUN encode and decode: a {@link ByteBuf} in, a {@link StunMessage} out, and back. No Netty
 * context, no state; the reader and writer indices of the input are not moved by {@link #decode}.
 *
 * <p>Attribute values on the wire:
 * <ul>
 * <li>address attributes: {@code 0x00, family (1 = IPv4, 2 = IPv6), port (16), address (32 or 128)};
 *     XOR-MAPPED-ADDRESS XORs the port with the cookie's top 16 bits and the address with the cookie
 *     (IPv4) or cookie + transaction ID (IPv6);
 * <li>ERROR-CODE: {@code 0 (21 bits), class (3 bits), number (8 bits), reason (UTF-8)};
 * <li>UNKNOWN-ATTRIBUTES: a list of 16-bit types;
 * <li>CHANGE-REQUEST: 32 bits, 0x4 = change IP, 0x2 = change port; RESPONSE-PORT: port (16), 0 (16);
 * <li>USERNAME, SOFTWARE: UTF-8; MESSAGE-INTEGRITY(-SHA256): the HMAC; FINGERPRINT: 32 bits.
 * </ul>
 * Padding is written as zero bytes and ignored when read.
 */
public final class StunCodec {
    private StunCodec() {}

    /**
     * Most attributes decoded from one message. A 1500-byte datagram can hold about 370 empty
     * attributes; real messages have fewer than ten. Bounds the list a decoded message allocates.
     */
    public static final int MAX_ATTRIBUTES = 32;

    private static final int FAMILY_IPV4 = 0x01;
    private static final int FAMILY_IPV6 = 0x02;

    // ---------------------------------------------------------------- quick checks

    /**
     * Cheap test that a buffer holds one STUN message (RFC 8489 §6 and RFC 7983 demultiplexing):
     * at least 20 bytes, first byte 0..3 (RFC 7983: 20..63 is DTLS, 64..79 TURN channels), the magic cookie, a length that is a multiple of 4 and
     * equals the remaining bytes. Used to tell STUN from other traffic on a shared socket.
     */
    public static boolean looksLikeStun(ByteBuf buf) {
        int n = buf.readableBytes();
        if (n < StunMessage.HEADER_LENGTH) {
            return false;
        }
        int i = buf.readerIndex();
        int type = buf.getUnsignedShort(i);
        int len = buf.getUnsignedShort(i + 2);
        return type < 0x0400
                && (len & 3) == 0
                && len == n - StunMessage.HEADER_LENGTH
                && buf.getInt(i + 4) == StunMessage.MAGIC_COOKIE;
    }

    // ---------------------------------------------------------------- decode

    /**
     * Decodes exactly the readable bytes of {@code buf} as one message.
     *
     * <p>Rules: attributes after MESSAGE-INTEGRITY other than MESSAGE-INTEGRITY-SHA256 and
     * FINGERPRINT are ignored (RFC 8489 §14.5), attributes after MESSAGE-INTEGRITY-SHA256 other
     * than FINGERPRINT likewise; FINGERPRINT must be last and must match. MESSAGE-INTEGRITY is
     * decoded but not checked here: see {@link #verifyIntegrity}.
     *
     * @throws StunDecodeException for anything malformed; never any other exception
     */
    public static StunMessage decode(ByteBuf buf) throws StunDecodeException {
        int start = buf.readerIndex();
        int available = buf.readableBytes();
        if (available < StunMessage.HEADER_LENGTH) {
            throw new StunDecodeException(TOO_SHORT, available + " bytes");
        }
        int type = buf.getUnsignedShort(start);
        if ((type & 0xC000) != 0) {
            throw new StunDecodeException(NOT_STUN, "top bits set");
        }
        int length = buf.getUnsignedShort(start + 2);
        if (buf.getInt(start + 4) != StunMessage.MAGIC_COOKIE) {
            throw new StunDecodeException(BAD_COOKIE, "no magic cookie");
        }
        if ((length & 3) != 0 || length != available - StunMessage.HEADER_LENGTH) {
            throw new StunDecodeException(BAD_LENGTH, "length " + length + " for " + available + " bytes");
        }
        TransactionId id = TransactionId.read(buf, start + 8);
        List<StunAttribute> attributes = new ArrayList<>(Math.min(8, length / 4));
        int pos = start + StunMessage.HEADER_LENGTH;
        int end = pos + length;
        boolean afterIntegrity = false;
        boolean afterSha256 = false;
        while (pos < end) {
            // pos and end are multiples of 4 apart, so at least 4 bytes remain.
            int attrType = buf.getUnsignedShort(pos);
            int attrLen = buf.getUnsignedShort(pos + 2);
            int padded = (attrLen + 3) & ~3;
            if (padded > end - pos - 4) {
                throw new StunDecodeException(ATTRIBUTE_OVERFLOW, "attribute length " + attrLen);
            }
            int value = pos + 4;
            if (attrType == StunAttributeType.FINGERPRINT) {
                if (value + padded != end) {
                    throw new StunDecodeException(FINGERPRINT_NOT_LAST, "attributes after FINGERPRINT");
                }
                if (attrLen != 4) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "FINGERPRINT length " + attrLen);
                }
                int crc = buf.getInt(value);
                if (crc != fingerprint(buf, start, pos - start)) {
                    throw new StunDecodeException(BAD_FINGERPRINT, "CRC mismatch");
                }
                addAttribute(attributes, new Fingerprint(crc));
            } else if (attrType == StunAttributeType.MESSAGE_INTEGRITY_SHA256 && !afterSha256) {
                afterSha256 = true;
                afterIntegrity = true;
                if (attrLen < MessageIntegritySha256.MIN_LENGTH
                        || attrLen > MessageIntegritySha256.MAX_LENGTH
                        || attrLen % 4 != 0) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "MESSAGE-INTEGRITY-SHA256 length " + attrLen);
                }
                addAttribute(attributes, new MessageIntegritySha256(bytes(buf, value, attrLen)));
            } else if (attrType == StunAttributeType.MESSAGE_INTEGRITY && !afterIntegrity) {
                afterIntegrity = true;
                if (attrLen != MessageIntegrity.LENGTH) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "MESSAGE-INTEGRITY length " + attrLen);
                }
                addAttribute(attributes, new MessageIntegrity(bytes(buf, value, attrLen)));
            } else if (!afterIntegrity) {
                addAttribute(attributes, decodeAttribute(buf, attrType, value, attrLen, id));
            }
            // else: an attribute after MESSAGE-INTEGRITY is ignored (RFC 8489 §14.5).
            pos = value + padded;
        }
        int messageType = type;
        return new StunMessage(StunClass.ofMessageType(messageType), StunClass.methodOf(messageType), id, attributes);
    }

    private static void addAttribute(List<StunAttribute> attributes, StunAttribute a) throws StunDecodeException {
        if (attributes.size() >= MAX_ATTRIBUTES) {
            throw new StunDecodeException(TOO_MANY_ATTRIBUTES, "more than " + MAX_ATTRIBUTES);
        }
        attributes.add(a);
    }

    private static StunAttribute decodeAttribute(ByteBuf buf, int type, int value, int len, TransactionId id)
            throws StunDecodeException {
        return switch (type) {
            case StunAttributeType.XOR_MAPPED_ADDRESS -> new XorMappedAddress(decodeAddress(buf, value, len, true, id));
            case StunAttributeType.MAPPED_ADDRESS -> new MappedAddress(decodeAddress(buf, value, len, false, id));
            case StunAttributeType.RESPONSE_ORIGIN -> new ResponseOrigin(decodeAddress(buf, value, len, false, id));
            case StunAttributeType.OTHER_ADDRESS -> new OtherAddress(decodeAddress(buf, value, len, false, id));
            case StunAttributeType.CHANGE_REQUEST -> {
                if (len != 4) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "CHANGE-REQUEST length " + len);
                }
                int flags = buf.getInt(value);
                yield new ChangeRequest(
                        (flags & ChangeRequest.CHANGE_IP_FLAG) != 0, (flags & ChangeRequest.CHANGE_PORT_FLAG) != 0);
            }
            case StunAttributeType.RESPONSE_PORT -> {
                if (len != 4) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "RESPONSE-PORT length " + len);
                }
                yield new ResponsePort(buf.getUnsignedShort(value));
            }
            case StunAttributeType.USERNAME -> {
                if (len > StunAttribute.MAX_USERNAME_BYTES) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "USERNAME too long");
                }
                yield new Username(utf8(buf, value, len));
            }
            case StunAttributeType.SOFTWARE -> {
                if (len > StunAttribute.MAX_SOFTWARE_BYTES) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "SOFTWARE too long");
                }
                yield new Software(utf8(buf, value, len));
            }
            case StunAttributeType.ERROR_CODE -> {
                if (len < 4 || len - 4 > StunAttribute.MAX_REASON_BYTES) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "ERROR-CODE length " + len);
                }
                int cls = buf.getByte(value + 2) & 0x07;
                int number = buf.getUnsignedByte(value + 3);
                if (cls < 3 || cls > 6 || number > 99) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "ERROR-CODE " + cls + "/" + number);
                }
                yield new ErrorCode(cls * 100 + number, utf8(buf, value + 4, len - 4));
            }
            case StunAttributeType.UNKNOWN_ATTRIBUTES -> {
                if (len % 2 != 0 || len / 2 > StunAttribute.MAX_UNKNOWN_TYPES) {
                    throw new StunDecodeException(BAD_ATTRIBUTE, "UNKNOWN-ATTRIBUTES length " + len);
                }
                List<Integer> types = new ArrayList<>(len / 2);
                for (int i = 0; i < len; i += 2) {
                    types.add(buf.getUnsignedShort(value + i));
                }
                yield new UnknownAttributes(types);
            }
            default -> new Unknown(type, bytes(buf, value, len));
        };
    }

    private static InetSocketAddress decodeAddress(ByteBuf buf, int value, int len, boolean xor, TransactionId id)
            throws StunDecodeException {
        if (len < 4) {
            throw new StunDecodeException(BAD_ATTRIBUTE, "address attribute length " + len);
        }
        int family = buf.getUnsignedByte(value + 1);
        int port = buf.getUnsignedShort(value + 2);
        byte[] ip;
        if (family == FAMILY_IPV4) {
            if (len != 8) {
                throw new StunDecodeException(BAD_ATTRIBUTE, "IPv4 address attribute length " + len);
            }
            ip = bytes(buf, value + 4, 4);
        } else if (family == FAMILY_IPV6) {
            if (len != 20) {
                throw new StunDecodeException(BAD_ATTRIBUTE, "IPv6 address attribute length " + len);
            }
            ip = bytes(buf, value + 4, 16);
        } else {
            throw new StunDecodeException(BAD_ATTRIBUTE, "address family " + family);
        }
        if (xor) {
            port ^= StunMessage.MAGIC_COOKIE >>> 16;
            xorAddress(ip, id);
        }
        return new InetSocketAddress(address(ip), port);
    }

    private static void xorAddress(byte[] ip, TransactionId id) {
        byte[] mask = new byte[16];
        int c = StunMessage.MAGIC_COOKIE;
        mask[0] = (byte) (c >>> 24);
        mask[1] = (byte) (c >>> 16);
        mask[2] = (byte) (c >>> 8);
        mask[3] = (byte) c;
        if (ip.length == 16) {
            System.arraycopy(id.toBytes(), 0, mask, 4, 12);
        }
        for (int i = 0; i < ip.length; i++) {
            ip[i] ^= mask[i];
        }
    }

    private static InetAddress address(byte[] ip) {
        try {
            // Inet6Address.getByAddress keeps ::ffff:a.b.c.d as IPv6, so family round-trips.
            return ip.length == 4 ? InetAddress.getByAddress(ip) : Inet6Address.getByAddress(null, ip, -1);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("unreachable: address of length " + ip.length, e);
        }
    }

    private static byte[] bytes(ByteBuf buf, int index, int len) {
        byte[] b = new byte[len];
        buf.getBytes(index, b);
        return b;
    }

    private static String utf8(ByteBuf buf, int index, int len) throws StunDecodeException {
        if (len == 0) {
            return "";
        }
        CharsetDecoder decoder = StandardCharsets.UTF_8
                .newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = decoder.decode(ByteBuffer.wrap(bytes(buf, index, len)));
            return chars.toString();
        } catch (CharacterCodingException e) {
            throw new StunDecodeException(BAD_ATTRIBUTE, "text is not UTF-8");
        }
    }

    // ---------------------------------------------------------------- encode

    /** Writes the message as it is (MESSAGE-INTEGRITY and FINGERPRINT values as given). */
    public static void encode(StunMessage message, ByteBuf out) {
        encode(message, out, null, false, (byte) 0);
    }

    /**
     * Writes the message, then MESSAGE-INTEGRITY (when {@code integrity} is not null) and
     * FINGERPRINT (when asked), computed over what precedes them.
     *
     * @throws IllegalArgumentException when the message would exceed 65535 attribute bytes
     */
    public static void encode(StunMessage message, ByteBuf out, Integrity integrity, boolean fingerprint) {
        encode(message, out, integrity, fingerprint, (byte) 0);
    }

    /** Bytes {@link #encode(StunMessage, ByteBuf, Integrity, boolean)} writes. */
    public static int encodedLength(StunMessage message, Integrity integrity, boolean fingerprint) {
        return message.encodedLength()
                + (integrity == null ? 0 : 4 + integrity.algorithm().macLength())
                + (fingerprint ? 8 : 0);
    }

    /**
     * As {@link #encode(StunMessage, ByteBuf, Integrity, boolean)} with a chosen padding byte.
     * Only the RFC 5769 golden tests use a non-zero one (the vectors pad with spaces); everything
     * we send pads with zeros so that no stale buffer bytes can leak.
     */
    static void encode(StunMessage message, ByteBuf out, Integrity integrity, boolean fingerprint, byte pad) {
        int total = encodedLength(message, integrity, fingerprint);
        int bodyLength = total - StunMessage.HEADER_LENGTH;
        if (bodyLength > 0xFFFF) {
            throw new IllegalArgumentException("STUN message too long: " + total + " bytes");
        }
        int start = out.writerIndex();
        out.ensureWritable(total);
        int lengthAtIntegrity = message.encodedLength()
                - StunMessage.HEADER_LENGTH
                + (integrity == null ? 0 : 4 + integrity.algorithm().macLength());
        out.writeShort(message.messageType());
        out.writeShort(lengthAtIntegrity);
        out.writeInt(StunMessage.MAGIC_COOKIE);
        message.transactionId().write(out);
        for (StunAttribute a : message.attributes()) {
            encodeAttribute(a, message.transactionId(), out, pad);
        }
        if (integrity != null) {
            byte[] mac = hmac(
                    integrity.algorithm(), integrity.key(), out, start, out.writerIndex() - start, lengthAtIntegrity);
            out.writeShort(integrity.algorithm().attributeType());
            out.writeShort(mac.length);
            out.writeBytes(mac);
        }
        out.setShort(start + 2, bodyLength);
        if (fingerprint) {
            int crc = fingerprint(out, start, out.writerIndex() - start);
            out.writeShort(StunAttributeType.FINGERPRINT);
            out.writeShort(4);
            out.writeInt(crc);
        }
    }

    private static void encodeAttribute(StunAttribute a, TransactionId id, ByteBuf out, byte pad) {
        int len = a.valueLength();
        out.writeShort(a.type());
        out.writeShort(len);
        switch (a) {
            case XorMappedAddress x -> encodeAddress(x.address(), true, id, out);
            case AddressAttribute x -> encodeAddress(x.address(), false, id, out);
            case ChangeRequest c ->
                out.writeInt((c.changeIp() ? ChangeRequest.CHANGE_IP_FLAG : 0)
                        | (c.changePort() ? ChangeRequest.CHANGE_PORT_FLAG : 0));
            case ResponsePort r -> out.writeShort(r.port()).writeShort(0);
            case Username u -> ByteBufUtil.reserveAndWriteUtf8(out, u.value(), len);
            case Software s -> ByteBufUtil.reserveAndWriteUtf8(out, s.value(), len);
            case ErrorCode e -> {
                out.writeShort(0);
                out.writeByte(e.code() / 100);
                out.writeByte(e.code() % 100);
                ByteBufUtil.reserveAndWriteUtf8(out, e.reason(), len - 4);
            }
            case UnknownAttributes u -> {
                for (int t : u.types()) {
                    out.writeShort(t);
                }
            }
            case MessageIntegrity m -> out.writeBytes(m.hmac());
            case MessageIntegritySha256 m -> out.writeBytes(m.hmac());
            case Fingerprint f -> out.writeInt(f.crc());
            case Unknown u -> out.writeBytes(u.value());
        }
        for (int p = len; (p & 3) != 0; p++) {
            out.writeByte(pad);
        }
    }

    private static void encodeAddress(InetSocketAddress address, boolean xor, TransactionId id, ByteBuf out) {
        InetAddress ip = address.getAddress();
        int port = address.getPort();
        if (xor) {
            port ^= StunMessage.MAGIC_COOKIE >>> 16;
        }
        out.writeByte(0);
        if (ip instanceof Inet4Address v4) {
            out.writeByte(FAMILY_IPV4);
            out.writeShort(port);
            // hashCode() of an Inet4Address is its address as an int: no array copy on the hot path.
            out.writeInt(xor ? v4.hashCode() ^ StunMessage.MAGIC_COOKIE : v4.hashCode());
            return;
        }
        byte[] bytes = ip.getAddress();
        if (xor) {
            xorAddress(bytes, id);
        }
        out.writeByte(FAMILY_IPV6);
        out.writeShort(port);
        out.writeBytes(bytes);
    }

    // ---------------------------------------------------------------- integrity and fingerprint

    /** The outcome of checking MESSAGE-INTEGRITY; see {@link #verifyIntegrity}. */
    public enum IntegrityCheck {
        /** The message carries neither MESSAGE-INTEGRITY nor MESSAGE-INTEGRITY-SHA256. */
        ABSENT,
        VALID,
        INVALID
    }

    /**
     * Checks the first MESSAGE-INTEGRITY-SHA256, else the first MESSAGE-INTEGRITY, of a message
     * that {@link #decode} accepted, against {@code key}. The MAC is compared in constant time.
     *
     * @param buf the message bytes (readable bytes, as given to decode)
     * @return which integrity attribute was checked is in {@link VerifiedIntegrity#algorithm()}
     */
    public static VerifiedIntegrity verifyIntegrity(ByteBuf buf, Integrity key) {
        int start = buf.readerIndex();
        int end = start + buf.readableBytes();
        int pos = start + StunMessage.HEADER_LENGTH;
        int sha1At = -1;
        int sha256At = -1;
        while (pos + 4 <= end) {
            int t = buf.getUnsignedShort(pos);
            int len = buf.getUnsignedShort(pos + 2);
            if (t == StunAttributeType.MESSAGE_INTEGRITY && sha1At < 0 && sha256At < 0) {
                sha1At = pos;
            } else if (t == StunAttributeType.MESSAGE_INTEGRITY_SHA256 && sha256At < 0) {
                sha256At = pos;
            }
            pos += 4 + ((len + 3) & ~3);
        }
        int at = sha256At >= 0 ? sha256At : sha1At;
        if (at < 0) {
            return new VerifiedIntegrity(IntegrityCheck.ABSENT, null);
        }
        IntegrityAlgorithm algorithm = sha256At >= 0 ? IntegrityAlgorithm.HMAC_SHA256 : IntegrityAlgorithm.HMAC_SHA1;
        int macLen = buf.getUnsignedShort(at + 2);
        if (at + 4 + macLen > end
                || macLen > algorithm.macLength()
                || (algorithm == IntegrityAlgorithm.HMAC_SHA1 && macLen != MessageIntegrity.LENGTH)
                || macLen < MessageIntegritySha256.MIN_LENGTH) {
            return new VerifiedIntegrity(IntegrityCheck.INVALID, algorithm);
        }
        int lengthAtIntegrity = at + 4 + macLen - start - StunMessage.HEADER_LENGTH;
        byte[] expected = hmac(algorithm, key.key(), buf, start, at - start, lengthAtIntegrity);
        byte[] received = bytes(buf, at + 4, macLen);
        byte[] truncated = macLen == expected.length ? expected : Arrays.copyOf(expected, macLen);
        boolean ok = MessageDigest.isEqual(truncated, received);
        return new VerifiedIntegrity(ok ? IntegrityCheck.VALID : IntegrityCheck.INVALID, algorithm);
    }

    /** Result of {@link #verifyIntegrity}: the outcome and which algorithm the message used. */
    public record VerifiedIntegrity(IntegrityCheck check, IntegrityAlgorithm algorithm) {}

    /** HMAC over {@code [start, start+len)} with the header length field replaced by {@code lengthField}. */
    private static byte[] hmac(
            IntegrityAlgorithm algorithm, byte[] key, ByteBuf buf, int start, int len, int lengthField) {
        try {
            Mac mac = Mac.getInstance(algorithm.jcaName());
            mac.init(new SecretKeySpec(key, algorithm.jcaName()));
            byte[] header = bytes(buf, start, StunMessage.HEADER_LENGTH);
            header[2] = (byte) (lengthField >>> 8);
            header[3] = (byte) lengthField;
            mac.update(header);
            mac.update(buf.nioBuffer(start + StunMessage.HEADER_LENGTH, len - StunMessage.HEADER_LENGTH));
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("JDK lacks " + algorithm.jcaName(), e);
        }
    }

    /** CRC-32 of {@code [start, start+len)} XOR 0x5354554e (RFC 8489 §14.7). */
    static int fingerprint(ByteBuf buf, int start, int len) {
        CRC32 crc = new CRC32();
        crc.update(buf.nioBuffer(start, len));
        return (int) crc.getValue() ^ Fingerprint.XOR;
    }
}
