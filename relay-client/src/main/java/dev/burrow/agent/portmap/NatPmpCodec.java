package dev.burrow.agent.portmap;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;

/**
 * NAT-PMP (RFC 6886): pure encode and decode functions for the external-address and UDP mapping
 * exchanges. All integers are big-endian and unsigned; version is 0; a response's opcode is the
 * request's plus 128.
 *
 * <pre>
 * external address request (2)    external address response (12)
 *  0 version 0, 1 opcode 0          0 version, 1 opcode 128, 2 result code (2)
 *                                   4 seconds since start of epoch (4), 8 external IPv4 (4)
 *
 * map request (12)                 map response (16)
 *  0 version 0, 1 opcode (UDP 1)    0 version, 1 opcode 129, 2 result code (2)
 *  2 reserved (2)                   4 seconds since start of epoch (4)
 *  4 internal port (2)              8 internal port (2), 10 mapped external port (2)
 *  6 suggested external port (2)   12 lifetime, seconds (4)
 *  8 requested lifetime (4)
 * </pre>
 *
 * A map request with lifetime 0 (and suggested external port 0) deletes the mapping (section 3.4).
 */
public final class NatPmpCodec {
    public static final int VERSION = 0;
    public static final int OPCODE_ADDRESS = 0;
    public static final int OPCODE_MAP_UDP = 1;
    public static final int RESPONSE_BIT = 0x80;
    public static final int ADDRESS_REQUEST_LENGTH = 2;
    public static final int ADDRESS_RESPONSE_LENGTH = 12;
    public static final int MAP_REQUEST_LENGTH = 12;
    public static final int MAP_RESPONSE_LENGTH = 16;
    /** The fixed part every response has (version, opcode, result code, epoch): enough to read an error. */
    public static final int RESPONSE_HEADER_LENGTH = 8;

    public static final int RESULT_SUCCESS = 0;

    private static final String[] RESULT_NAMES = {
        "SUCCESS", "UNSUPPORTED_VERSION", "NOT_AUTHORIZED", "NETWORK_FAILURE", "OUT_OF_RESOURCES", "UNSUPPORTED_OPCODE"
    };

    private NatPmpCodec() {}

    public record AddressResponse(int resultCode, long epochSeconds, Inet4Address externalAddress) {}

    public record MapRequest(int opcode, int internalPort, int suggestedExternalPort, long lifetimeSeconds) {}

    public record MapResponse(
            int opcode, int resultCode, long epochSeconds, int internalPort, int externalPort, long lifetimeSeconds) {}

    public static String resultName(int code) {
        return code >= 0 && code < RESULT_NAMES.length ? RESULT_NAMES[code] : "result " + code;
    }

    public static byte[] encodeAddressRequest() {
        return new byte[] {VERSION, OPCODE_ADDRESS};
    }

    public static byte[] encode(MapRequest r) {
        ByteBuffer b = ByteBuffer.allocate(MAP_REQUEST_LENGTH);
        b.put((byte) VERSION).put((byte) r.opcode()).putShort((short) 0);
        b.putShort((short) r.internalPort()).putShort((short) r.suggestedExternalPort());
        b.putInt((int) r.lifetimeSeconds());
        return b.array();
    }

    /** Encodes an address response (what a gateway sends; for tests and fake gateways). */
    public static byte[] encode(AddressResponse r) {
        ByteBuffer b = ByteBuffer.allocate(ADDRESS_RESPONSE_LENGTH);
        b.put((byte) VERSION).put((byte) (RESPONSE_BIT | OPCODE_ADDRESS)).putShort((short) r.resultCode());
        b.putInt((int) r.epochSeconds()).put(r.externalAddress().getAddress());
        return b.array();
    }

    /** Encodes a map response (what a gateway sends; for tests and fake gateways). */
    public static byte[] encode(MapResponse r) {
        ByteBuffer b = ByteBuffer.allocate(MAP_RESPONSE_LENGTH);
        b.put((byte) VERSION).put((byte) (RESPONSE_BIT | r.opcode())).putShort((short) r.resultCode());
        b.putInt((int) r.epochSeconds());
        b.putShort((short) r.internalPort()).putShort((short) r.externalPort());
        b.putInt((int) r.lifetimeSeconds());
        return b.array();
    }

    /** Decodes a map request (what a gateway reads; for tests and fake gateways). */
    public static Decoded<MapRequest> decodeMapRequest(byte[] data, int length) {
        if (length != MAP_REQUEST_LENGTH || data.length < length) {
            return Decoded.refused(Refusal.SIZE, "a NAT-PMP map request is 12 bytes, got " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        if ((b.get() & 0xff) != VERSION) {
            return Decoded.refused(Refusal.VERSION, "not NAT-PMP version 0");
        }
        int op = b.get() & 0xff;
        b.getShort();
        return new Decoded.Ok<>(
                new MapRequest(op, b.getShort() & 0xffff, b.getShort() & 0xffff, b.getInt() & 0xffffffffL));
    }

    /** Decodes an external-address response; a non-zero result code is refused with its name. Never throws. */
    public static Decoded<AddressResponse> decodeAddressResponse(byte[] data, int length) {
        Decoded<ByteBuffer> h = header(data, length, OPCODE_ADDRESS, ADDRESS_RESPONSE_LENGTH);
        if (!(h instanceof Decoded.Ok<ByteBuffer> ok)) {
            return (Decoded.Refused<AddressResponse>) (Decoded<?>) h;
        }
        ByteBuffer b = ok.value();
        long epoch = b.getInt() & 0xffffffffL;
        byte[] a = new byte[4];
        b.get(a);
        try {
            return new Decoded.Ok<>(
                    new AddressResponse(RESULT_SUCCESS, epoch, (Inet4Address) InetAddress.getByAddress(a)));
        } catch (UnknownHostException e) {
            throw new IllegalStateException("4 bytes are always an address", e);
        }
    }

    /** Decodes a UDP map response; a non-zero result code is refused with its name. Never throws. */
    public static Decoded<MapResponse> decodeMapResponse(byte[] data, int length) {
        Decoded<ByteBuffer> h = header(data, length, OPCODE_MAP_UDP, MAP_RESPONSE_LENGTH);
        if (!(h instanceof Decoded.Ok<ByteBuffer> ok)) {
            return (Decoded.Refused<MapResponse>) (Decoded<?>) h;
        }
        ByteBuffer b = ok.value();
        long epoch = b.getInt() & 0xffffffffL;
        int internal = b.getShort() & 0xffff;
        int external = b.getShort() & 0xffff;
        long lifetime = b.getInt() & 0xffffffffL;
        return new Decoded.Ok<>(new MapResponse(OPCODE_MAP_UDP, RESULT_SUCCESS, epoch, internal, external, lifetime));
    }

    /** Whether a decoded map response grants what we asked: same internal port; unless deleting, a port and a lifetime. */
    public static Decoded<MapResponse> check(MapRequest q, MapResponse r) {
        if (q.internalPort() != r.internalPort()) {
            return Decoded.refused(
                    Refusal.MAPPING,
                    "the response maps port " + r.internalPort() + ", we asked for " + q.internalPort());
        }
        if (q.lifetimeSeconds() != 0 && (r.externalPort() == 0 || r.lifetimeSeconds() == 0)) {
            return Decoded.refused(
                    Refusal.UNUSABLE,
                    "unusable mapping: port " + r.externalPort() + " for " + r.lifetimeSeconds() + " s");
        }
        return new Decoded.Ok<>(r);
    }

    /**
     * Checks version, opcode and result code (an error may come as the bare 8-byte header), then
     * the exact size of a success; returns the buffer positioned after the result code.
     */
    private static Decoded<ByteBuffer> header(byte[] data, int length, int opcode, int successLength) {
        if (length < RESPONSE_HEADER_LENGTH || length > successLength || data.length < length) {
            return Decoded.refused(
                    Refusal.SIZE,
                    "a NAT-PMP response to opcode " + opcode + " is " + successLength + " bytes, got " + length);
        }
        ByteBuffer b = ByteBuffer.wrap(data, 0, length);
        int version = b.get() & 0xff;
        if (version != VERSION) {
            return Decoded.refused(Refusal.VERSION, "NAT-PMP version " + version + ", expected 0");
        }
        int op = b.get() & 0xff;
        if (op != (RESPONSE_BIT | opcode)) {
            return Decoded.refused(Refusal.OPCODE, "opcode byte " + op + ", expected the response to opcode " + opcode);
        }
        int result = b.getShort() & 0xffff;
        if (result != RESULT_SUCCESS) {
            return Decoded.refused(Refusal.RESULT_CODE, "the gateway refused: " + resultName(result));
        }
        if (length != successLength) {
            return Decoded.refused(
                    Refusal.SIZE,
                    "a NAT-PMP response to opcode " + opcode + " is " + successLength + " bytes, got " + length);
        }
        return new Decoded.Ok<>(b);
    }
}
