package dev.burrow.agent.portmap;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * PCP (RFC 6887) MAP requests and responses, IPv4 only: pure encode and decode functions.
 *
 * <pre>
 * request (60 bytes)                         response (60 bytes, options may follow)
 *  0  version = 2                             0  version = 2
 *  1  R=0 | opcode (MAP = 1)                  1  R=1 | opcode (0x81)
 *  2  reserved (2)                            2  reserved (1), 3 result code
 *  4  requested lifetime, seconds (4)         4  lifetime, seconds (4)
 *  8  client IP, IPv4-mapped IPv6 (16)        8  epoch time, seconds (4)
 *                                            12  reserved (12)
 * 24  mapping nonce (12)                     24  mapping nonce (12)
 * 36  protocol (1; UDP = 17), reserved (3)   36  protocol (1), reserved (3)
 * 40  internal port (2)                      40  internal port (2)
 * 42  suggested external port (2)            42  assigned external port (2)
 * 44  suggested external IP (16)             44  assigned external IP (16)
 * </pre>
 *
 * A lifetime of 0 deletes the mapping (section 15). All integers are big-endian and unsigned.
 */
public final class PcpCodec {
    public static final int VERSION = 2;
    /** The port a PCP server listens on (section 19.1); NAT-PMP shares it. */
    public static final int SERVER_PORT = 5351;

    /** ANNOUNCE (section 14.1): a request with no side effect, answered SUCCESS by a PCP server; used to probe. */
    public static final int OPCODE_ANNOUNCE = 0;

    public static final int OPCODE_MAP = 1;
    /** The common header: all of an ANNOUNCE request and response. */
    public static final int HEADER_LENGTH = 24;

    public static final int RESPONSE_BIT = 0x80;
    public static final int PROTOCOL_UDP = 17;
    /** The common header (24) plus the MAP opcode body (36). */
    public static final int MAP_LENGTH = 60;
    /** The largest PCP message (section 7): a longer datagram is not PCP. */
    public static final int MAX_MESSAGE = 1100;

    public static final int RESULT_SUCCESS = 0;

    private static final String[] RESULT_NAMES = {
        "SUCCESS",
        "UNSUPP_VERSION",
        "NOT_AUTHORIZED",
        "MALFORMED_REQUEST",
        "UNSUPP_OPCODE",
        "UNSUPP_OPTION",
        "MALFORMED_OPTION",
        "NETWORK_FAILURE",
        "NO_RESOURCES",
        "UNSUPP_PROTOCOL",
        "USER_EX_QUOTA",
        "CANNOT_PROVIDE_EXTERNAL",
        "ADDRESS_MISMATCH",
        "EXCESSIVE_REMOTE_PEERS"
    };

    private PcpCodec() {}

    /** A MAP request; {@code suggestedExternalAddress} null means no preference (::ffff:0.0.0.0). */
    public record MapRequest(
            long lifetimeSeconds,
            Inet4Address clientAddress,
            PcpNonce nonce,
            int protocol,
            int internalPort,
            int suggestedExternalPort,
            Inet4Address suggestedExternalAddress) {}

    /** A MAP response; {@code externalAddress} is the assigned address (IPv4 when it was IPv4-mapped, else IPv6). */
    public record MapResponse(
            int resultCode,
            long lifetimeSeconds,
            long epochSeconds,
            PcpNonce nonce,
            int protocol,
            int internalPort,
            int externalPort,
            InetAddress externalAddress) {}

    /** An ANNOUNCE response: the server's result code and epoch. */
    public record AnnounceResponse(int resultCode, long epochSeconds) {}

    public static String resultName(int code) {
        return code >= 0 && code < RESULT_NAMES.length ? RESULT_NAMES[code] : "result " + code;
    }

    public static byte[] encode(MapRequest r) {
        ByteBuffer b = ByteBuffer.allocate(MAP_LENGTH);
        b.put((byte) VERSION).put((byte) OPCODE_MAP).putShort((short) 0);
        b.putInt((int) r.lifetimeSeconds());
        putMapped(b, r.clientAddress());
        b.put(r.nonce().bytes());
        b.put((byte) r.protocol()).put(new byte[3]);
        b.putShort((short) r.internalPort()).putShort((short) r.suggestedExternalPort());
        putMapped(b, r.suggestedExternalAddress());
        return b.array();
    }

    /** An ANNOUNCE request: the 24-byte header with opcode 0 and lifetime 0. */
    public static byte[] encodeAnnounce(Inet4Address client) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
        b.put((byte) VERSION).put((byte) OPCODE_ANNOUNCE).putShort((short) 0).putInt(0);
        putMapped(b, client);
        return b.array();
    }

    /** Encodes an ANNOUNCE response (what a gateway sends; for tests and fake gateways). */
    public static byte[] encode(AnnounceResponse r) {
        ByteBuffer b = ByteBuffer.allocate(HEADER_LENGTH);
        b.put((byte) VERSION)
                .put((byte) (RESPONSE_BIT | OPCODE_ANNOUNCE))
                .put((byte) 0)
                .put((byte) r.resultCode());
        b.putInt(0).putInt((int) r.epochSeconds()).put(new byte[12]);
        return b.array();
    }

    /**
     * Decodes an ANNOUNCE response: version, size (24..1100 in steps of 4), opcode, then a
     * non-zero result code is refused with its name. Never throws on any input.
     */
    public static Decoded<AnnounceResponse> decodeAnnounceResponse(byte[] data, int length) {
        if (length >= 1 && data.length >= 1 && (data[0] & 0xff) != VERSION) {
            int version = data[0] & 0xff;
            return Decoded.refused(
                    Refusal.VERSION,
                    "PCP version " + version + (version == 0 ? " (the gateway speaks NAT-PMP only)" : ""));
        }
        if (length < HEADER_LENGTH || length > MAX_MESSAGE || length % 4 != 0 || data.length < length) {
            return Decoded.refused(
                    Refusal.SIZE,
                    "a PCP ANNOUNCE response is " + HEADER_LENGTH + ".." + MAX_MESSAGE + " bytes in steps of 4, got "
                            + length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        b.get();
        int op = b.get() & 0xff;
        if (op != (RESPONSE_BIT | OPCODE_ANNOUNCE)) {
            return Decoded.refused(Refusal.OPCODE, "not an ANNOUNCE response: opcode byte " + op);
        }
        b.get();
        int result = b.get() & 0xff;
        if (result != RESULT_SUCCESS) {
            return Decoded.refused(Refusal.RESULT_CODE, "the gateway refused: " + resultName(result));
        }
        b.getInt();
        return new Decoded.Ok<>(new AnnounceResponse(result, b.getInt() & 0xffffffffL));
    }

    /** Encodes a response (what a gateway sends; for tests and fake gateways). */
    public static byte[] encode(MapResponse r) {
        ByteBuffer b = ByteBuffer.allocate(MAP_LENGTH);
        b.put((byte) VERSION)
                .put((byte) (RESPONSE_BIT | OPCODE_MAP))
                .put((byte) 0)
                .put((byte) r.resultCode());
        b.putInt((int) r.lifetimeSeconds()).putInt((int) r.epochSeconds()).put(new byte[12]);
        b.put(r.nonce().bytes());
        b.put((byte) r.protocol()).put(new byte[3]);
        b.putShort((short) r.internalPort()).putShort((short) r.externalPort());
        b.put(toMapped(r.externalAddress()));
        return b.array();
    }

    /** Decodes a request (what a gateway reads; for tests and fake gateways). */
    public static Decoded<MapRequest> decodeRequest(byte[] data, int length) {
        if (length != MAP_LENGTH || data.length < length) {
            return Decoded.refused(Refusal.SIZE, "a PCP MAP request is " + MAP_LENGTH + " bytes, got " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        int version = b.get() & 0xff;
        int op = b.get() & 0xff;
        if (version != VERSION) {
            return Decoded.refused(Refusal.VERSION, "PCP version " + version);
        }
        if (op != OPCODE_MAP) {
            return Decoded.refused(Refusal.OPCODE, "not a MAP request: opcode byte " + op);
        }
        b.getShort();
        long lifetime = b.getInt() & 0xffffffffL;
        InetAddress client = getMapped(b);
        PcpNonce nonce = getNonce(b);
        int protocol = b.get() & 0xff;
        b.position(b.position() + 3);
        int internal = b.getShort() & 0xffff;
        int suggested = b.getShort() & 0xffff;
        InetAddress ext = getMapped(b);
        if (!(client instanceof Inet4Address c4) || !(ext instanceof Inet4Address e4)) {
            return Decoded.refused(Refusal.UNUSABLE, "not an IPv4 MAP request");
        }
        return new Decoded.Ok<>(
                new MapRequest(lifetime, c4, nonce, protocol, internal, suggested, e4.isAnyLocalAddress() ? null : e4));
    }

    /**
     * Decodes a MAP response's layout (size, version, opcode); what it says is judged by
     * {@link #check}. Never throws on any input.
     */
    public static Decoded<MapResponse> decodeResponse(byte[] data, int length) {
        // The version first: a NAT-PMP gateway answers a PCP request in its own (shorter) header.
        if (length >= 1 && data.length >= 1 && (data[0] & 0xff) != VERSION) {
            int version = data[0] & 0xff;
            return Decoded.refused(
                    Refusal.VERSION,
                    "PCP version " + version + (version == 0 ? " (the gateway speaks NAT-PMP only)" : ""));
        }
        if (length < MAP_LENGTH || length > MAX_MESSAGE || length % 4 != 0 || data.length < length) {
            return Decoded.refused(
                    Refusal.SIZE,
                    "a PCP MAP response is " + MAP_LENGTH + ".." + MAX_MESSAGE + " bytes in steps of 4, got " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        b.get();
        int op = b.get() & 0xff;
        if (op != (RESPONSE_BIT | OPCODE_MAP)) {
            return Decoded.refused(Refusal.OPCODE, "not a MAP response: opcode byte " + op);
        }
        b.get();
        int result = b.get() & 0xff;
        long lifetime = b.getInt() & 0xffffffffL;
        long epoch = b.getInt() & 0xffffffffL;
        b.position(b.position() + 12);
        PcpNonce nonce = getNonce(b);
        int protocol = b.get() & 0xff;
        b.position(b.position() + 3);
        int internal = b.getShort() & 0xffff;
        int external = b.getShort() & 0xffff;
        InetAddress ext = getMapped(b);
        return new Decoded.Ok<>(new MapResponse(result, lifetime, epoch, nonce, protocol, internal, external, ext));
    }

    /**
     * Whether a decoded response answers our request and grants a usable mapping: same nonce,
     * protocol and internal port, SUCCESS, and (unless we deleted) a non-zero lifetime and port and
     * an IPv4 external address.
     */
    public static Decoded<MapResponse> check(MapRequest q, MapResponse r) {
        if (!q.nonce().equals(r.nonce())) {
            return Decoded.refused(Refusal.NONCE, "the response's nonce is not our request's");
        }
        if (q.protocol() != r.protocol() || q.internalPort() != r.internalPort()) {
            return Decoded.refused(
                    Refusal.MAPPING,
                    "the response maps protocol " + r.protocol() + " port " + r.internalPort() + ", we asked for "
                            + q.protocol() + " port " + q.internalPort());
        }
        if (r.resultCode() != RESULT_SUCCESS) {
            return Decoded.refused(Refusal.RESULT_CODE, "the gateway refused: " + resultName(r.resultCode()));
        }
        if (q.lifetimeSeconds() != 0
                && (r.lifetimeSeconds() == 0
                        || r.externalPort() == 0
                        || !(r.externalAddress() instanceof Inet4Address))) {
            return Decoded.refused(
                    Refusal.UNUSABLE,
                    "unusable mapping: " + r.externalAddress() + " port " + r.externalPort() + " for "
                            + r.lifetimeSeconds() + " s");
        }
        return new Decoded.Ok<>(r);
    }

    private static final byte[] MAPPED_PREFIX = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte) 0xff, (byte) 0xff};

    private static byte[] toMapped(InetAddress a) {
        if (a == null) {
            a = anyV4();
        }
        if (a instanceof Inet4Address) {
            byte[] out = Arrays.copyOf(MAPPED_PREFIX, 16);
            System.arraycopy(a.getAddress(), 0, out, 12, 4);
            return out;
        }
        return a.getAddress();
    }

    private static void putMapped(ByteBuffer b, Inet4Address a) {
        b.put(toMapped(a));
    }

    /** Reads 16 address bytes: an IPv4 address when IPv4-mapped, else IPv6. */
    private static InetAddress getMapped(ByteBuffer b) {
        byte[] a = new byte[16];
        b.get(a);
        try {
            if (Arrays.equals(a, 0, 12, MAPPED_PREFIX, 0, 12)) {
                return InetAddress.getByAddress(Arrays.copyOfRange(a, 12, 16));
            }
            return InetAddress.getByAddress(a);
        } catch (UnknownHostException e) {
            throw new IllegalStateException("16 bytes are always an address", e);
        }
    }

    private static PcpNonce getNonce(ByteBuffer b) {
        byte[] n = new byte[PcpNonce.LENGTH];
        b.get(n);
        return new PcpNonce(n);
    }

    private static Inet4Address anyV4() {
        try {
            return (Inet4Address) InetAddress.getByAddress(new byte[4]);
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }
}
