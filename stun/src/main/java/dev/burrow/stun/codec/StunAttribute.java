package dev.burrow.stun.codec;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A STUN attribute (RFC 8489 §14, RFC 5780 §7). Each record validates its values when built, so
 * every instance can be encoded; {@link Unknown} keeps any other attribute byte for byte.
 * The byte layout of each value is in {@link StunCodec}.
 */
public sealed interface StunAttribute {
    /** Longest SOFTWARE value, in bytes (RFC 8489 §14.14: fewer than 128 characters, at most 763 bytes). */
    int MAX_SOFTWARE_BYTES = 763;
    /** Longest USERNAME value, in bytes (RFC 8489 §14.3: fewer than 513 bytes). */
    int MAX_USERNAME_BYTES = 512;
    /** Longest ERROR-CODE reason phrase, in bytes (RFC 8489 §14.8: at most 763 bytes). */
    int MAX_REASON_BYTES = 763;
    /** Most attribute types one UNKNOWN-ATTRIBUTES lists; bounds the 420 answer to a request full of them. */
    int MAX_UNKNOWN_TYPES = 16;
    /** Largest attribute value the 16-bit length field can express. */
    int MAX_VALUE_LENGTH = 0xFFFF;

    /** The attribute type code. */
    int type();

    /** Bytes of the value, before padding. */
    int valueLength();

    /** Bytes on the wire: 4 header bytes plus the value padded to a multiple of 4. */
    default int encodedLength() {
        return 4 + ((valueLength() + 3) & ~3);
    }

    /** Attributes that carry a transport address (family, port, address). */
    sealed interface AddressAttribute extends StunAttribute {
        InetSocketAddress address();

        @Override
        default int valueLength() {
            return address().getAddress() instanceof Inet4Address ? 8 : 20;
        }
    }

    /** XOR-MAPPED-ADDRESS (0x0020): the client's reflexive address, XORed with the cookie and transaction ID. */
    record XorMappedAddress(InetSocketAddress address) implements AddressAttribute {
        public XorMappedAddress {
            checkAddress(address);
        }

        @Override
        public int type() {
            return StunAttributeType.XOR_MAPPED_ADDRESS;
        }
    }

    /** MAPPED-ADDRESS (0x0001): the reflexive address in clear, for RFC 3489 clients. */
    record MappedAddress(InetSocketAddress address) implements AddressAttribute {
        public MappedAddress {
            checkAddress(address);
        }

        @Override
        public int type() {
            return StunAttributeType.MAPPED_ADDRESS;
        }
    }

    /** RESPONSE-ORIGIN (0x802B, RFC 5780): where the response was sent from. */
    record ResponseOrigin(InetSocketAddress address) implements AddressAttribute {
        public ResponseOrigin {
            checkAddress(address);
        }

        @Override
        public int type() {
            return StunAttributeType.RESPONSE_ORIGIN;
        }
    }

    /** OTHER-ADDRESS (0x802C, RFC 5780): the server's alternate IP and port. */
    record OtherAddress(InetSocketAddress address) implements AddressAttribute {
        public OtherAddress {
            checkAddress(address);
        }

        @Override
        public int type() {
            return StunAttributeType.OTHER_ADDRESS;
        }
    }

    /** CHANGE-REQUEST (0x0003, RFC 5780): answer from the other IP and/or the other port. */
    record ChangeRequest(boolean changeIp, boolean changePort) implements StunAttribute {
        public static final int CHANGE_IP_FLAG = 0x04;
        public static final int CHANGE_PORT_FLAG = 0x02;

        @Override
        public int type() {
            return StunAttributeType.CHANGE_REQUEST;
        }

        @Override
        public int valueLength() {
            return 4;
        }

        public boolean changesAnything() {
            return changeIp || changePort;
        }
    }

    /** RESPONSE-PORT (0x0027, RFC 5780): port (16 bits) then 2 bytes of padding inside the value. */
    record ResponsePort(int port) implements StunAttribute {
        public ResponsePort {
            if (port < 0 || port > 0xFFFF) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
        }

        @Override
        public int type() {
            return StunAttributeType.RESPONSE_PORT;
        }

        @Override
        public int valueLength() {
            return 4;
        }
    }

    /** USERNAME (0x0006), for short-term credentials. */
    record Username(String value) implements StunAttribute {
        public Username {
            checkText(value, MAX_USERNAME_BYTES, "USERNAME");
        }

        @Override
        public int type() {
            return StunAttributeType.USERNAME;
        }

        @Override
        public int valueLength() {
            return utf8Length(value);
        }
    }

    /** SOFTWARE (0x8022): a free-text product name. Off by default in our server (amplification). */
    record Software(String value) implements StunAttribute {
        public Software {
            checkText(value, MAX_SOFTWARE_BYTES, "SOFTWARE");
        }

        @Override
        public int type() {
            return StunAttributeType.SOFTWARE;
        }

        @Override
        public int valueLength() {
            return utf8Length(value);
        }
    }

    /**
     * ERROR-CODE (0x0009): a code 300..699 and a reason phrase (may be empty: our server sends none
     * by default, to keep error responses small).
     */
    record ErrorCode(int code, String reason) implements StunAttribute {
        public static final int TRY_ALTERNATE = 300;
        public static final int BAD_REQUEST = 400;
        public static final int UNAUTHENTICATED = 401;
        public static final int UNKNOWN_ATTRIBUTE = 420;
        public static final int SERVER_ERROR = 500;

        public ErrorCode {
            if (code < 300 || code > 699) {
                throw new IllegalArgumentException("ERROR-CODE must be 300..699, not " + code);
            }
            checkText(reason, MAX_REASON_BYTES, "ERROR-CODE reason");
        }

        @Override
        public int type() {
            return StunAttributeType.ERROR_CODE;
        }

        @Override
        public int valueLength() {
            return 4 + utf8Length(reason);
        }
    }

    /** UNKNOWN-ATTRIBUTES (0x000A): the comprehension-required types a 420 response did not understand. */
    record UnknownAttributes(List<Integer> types) implements StunAttribute {
        public UnknownAttributes {
            types = List.copyOf(types);
            if (types.size() > MAX_UNKNOWN_TYPES) {
                throw new IllegalArgumentException("UNKNOWN-ATTRIBUTES lists at most " + MAX_UNKNOWN_TYPES + " types");
            }
            for (int t : types) {
                checkType(t);
            }
        }

        @Override
        public int type() {
            return StunAttributeType.UNKNOWN_ATTRIBUTES;
        }

        @Override
        public int valueLength() {
            return 2 * types.size();
        }
    }

    /** MESSAGE-INTEGRITY (0x0008): HMAC-SHA1 over the message before it (20 bytes). */
    record MessageIntegrity(byte[] hmac) implements StunAttribute {
        public static final int LENGTH = 20;

        public MessageIntegrity {
            if (hmac.length != LENGTH) {
                throw new IllegalArgumentException("MESSAGE-INTEGRITY has 20 bytes, not " + hmac.length);
            }
            hmac = hmac.clone();
        }

        @Override
        public byte[] hmac() {
            return hmac.clone();
        }

        @Override
        public int type() {
            return StunAttributeType.MESSAGE_INTEGRITY;
        }

        @Override
        public int valueLength() {
            return LENGTH;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MessageIntegrity m && Arrays.equals(hmac, m.hmac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(hmac);
        }

        @Override
        public String toString() {
            return "MessageIntegrity[hmac=<" + LENGTH + " bytes>]";
        }
    }

    /** MESSAGE-INTEGRITY-SHA256 (0x001C): HMAC-SHA256, possibly truncated to 16..32 bytes in steps of 4. */
    record MessageIntegritySha256(byte[] hmac) implements StunAttribute {
        public static final int MIN_LENGTH = 16;
        public static final int MAX_LENGTH = 32;

        public MessageIntegritySha256 {
            if (hmac.length < MIN_LENGTH || hmac.length > MAX_LENGTH || hmac.length % 4 != 0) {
                throw new IllegalArgumentException(
                        "MESSAGE-INTEGRITY-SHA256 has 16..32 bytes in steps of 4, not " + hmac.length);
            }
            hmac = hmac.clone();
        }

        @Override
        public byte[] hmac() {
            return hmac.clone();
        }

        @Override
        public int type() {
            return StunAttributeType.MESSAGE_INTEGRITY_SHA256;
        }

        @Override
        public int valueLength() {
            return hmac.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof MessageIntegritySha256 m && Arrays.equals(hmac, m.hmac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(hmac);
        }

        @Override
        public String toString() {
            return "MessageIntegritySha256[hmac=<" + hmac.length + " bytes>]";
        }
    }

    /** FINGERPRINT (0x8028): CRC-32 of the message before it, XOR 0x5354554e; always last. */
    record Fingerprint(int crc) implements StunAttribute {
        public static final int XOR = 0x5354554E;

        @Override
        public int type() {
            return StunAttributeType.FINGERPRINT;
        }

        @Override
        public int valueLength() {
            return 4;
        }
    }

    /** Any other attribute, kept byte for byte so that it can be reported (420) or passed through. */
    record Unknown(int type, byte[] value) implements StunAttribute {
        public Unknown {
            checkType(type);
            if (value.length > MAX_VALUE_LENGTH) {
                throw new IllegalArgumentException("attribute value longer than 65535 bytes");
            }
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        @Override
        public int valueLength() {
            return value.length;
        }

        public boolean comprehensionRequired() {
            return StunAttributeType.isComprehensionRequired(type);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && type == u.type && Arrays.equals(value, u.value);
        }

        @Override
        public int hashCode() {
            return 31 * type + Arrays.hashCode(value);
        }

        @Override
        public String toString() {
            return String.format(
                    "Unknown[type=0x%04x, value=%s]", type, HexFormat.of().formatHex(value));
        }
    }

    private static void checkAddress(InetSocketAddress address) {
        Objects.requireNonNull(address, "address");
        InetAddress ip = address.getAddress();
        if (ip == null) {
            throw new IllegalArgumentException("unresolved address " + address);
        }
    }

    private static void checkText(String value, int maxBytes, String what) {
        Objects.requireNonNull(value, what);
        if (utf8Length(value) > maxBytes) {
            throw new IllegalArgumentException(what + " longer than " + maxBytes + " bytes");
        }
    }

    private static void checkType(int type) {
        if (type < 0 || type > 0xFFFF) {
            throw new IllegalArgumentException("attribute type out of range: " + type);
        }
    }

    private static int utf8Length(String s) {
        // Fast path for ASCII, which every value we produce is.
        int n = s.length();
        for (int i = 0; i < n; i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return n;
    }
}
