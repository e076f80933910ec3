package dev.burrow.stun.codec;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A STUN message (RFC 8489 §5):
 * <pre>
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |0 0|     STUN Message Type     |         Message Length        |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                         Magic Cookie (0x2112A442)             |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |                     Transaction ID (96 bits)                  |
 * +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 * |        attributes: type (16) | length (16) | value, padded to 4 bytes ...
 * </pre>
 * The message length counts the attribute bytes (not the 20-byte header) and is a multiple of 4.
 *
 * @param messageClass  request, indication, success or error response
 * @param method        the 12-bit method ({@link #BINDING} is the only one this module serves)
 * @param transactionId the 96-bit transaction ID
 * @param attributes    in wire order, including MESSAGE-INTEGRITY and FINGERPRINT when decoded
 */
public record StunMessage(
        StunClass messageClass, int method, TransactionId transactionId, List<StunAttribute> attributes) {
    public static final int BINDING = 0x001;
    public static final int MAGIC_COOKIE = 0x2112A442;
    public static final int HEADER_LENGTH = 20;

    public StunMessage {
        Objects.requireNonNull(messageClass, "messageClass");
        Objects.requireNonNull(transactionId, "transactionId");
        if (method < 0 || method > 0xFFF) {
            throw new IllegalArgumentException("method must fit 12 bits: " + method);
        }
        attributes = List.copyOf(attributes);
    }

    public static StunMessage bindingRequest(TransactionId id, StunAttribute... attributes) {
        return new StunMessage(StunClass.REQUEST, BINDING, id, List.of(attributes));
    }

    public static StunMessage bindingSuccess(TransactionId id, StunAttribute... attributes) {
        return new StunMessage(StunClass.SUCCESS_RESPONSE, BINDING, id, List.of(attributes));
    }

    public static StunMessage bindingError(TransactionId id, StunAttribute... attributes) {
        return new StunMessage(StunClass.ERROR_RESPONSE, BINDING, id, List.of(attributes));
    }

    /** The first attribute of a type: RFC 8489 §14 says only the first of duplicates counts. */
    public <T extends StunAttribute> Optional<T> attribute(Class<T> type) {
        for (StunAttribute a : attributes) {
            if (type.isInstance(a)) {
                return Optional.of(type.cast(a));
            }
        }
        return Optional.empty();
    }

    /** The 14-bit message type. */
    public int messageType() {
        return messageClass.messageType(method);
    }

    /** Bytes {@link StunCodec#encode(StunMessage, io.netty.buffer.ByteBuf)} writes. */
    public int encodedLength() {
        int n = HEADER_LENGTH;
        for (StunAttribute a : attributes) {
            n += a.encodedLength();
        }
        return n;
    }
}
