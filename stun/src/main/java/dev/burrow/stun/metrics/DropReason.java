package dev.burrow.stun.metrics;

import dev.burrow.stun.codec.StunDecodeException;
import java.util.Locale;

/** Why the STUN server dropped a datagram, frame or connection without answering; a bounded metric tag. */
public enum DropReason {
    TOO_SHORT,
    NOT_STUN,
    BAD_COOKIE,
    BAD_LENGTH,
    ATTRIBUTE_OVERFLOW,
    TOO_MANY_ATTRIBUTES,
    BAD_ATTRIBUTE,
    FINGERPRINT_NOT_LAST,
    BAD_FINGERPRINT,
    /** The datagram filled the whole read buffer, so it may have been cut short: never parsed. */
    POSSIBLY_TRUNCATED,
    /** A well-formed indication or response sent to the server. */
    NOT_A_REQUEST,
    /** The source IP is over its request rate. */
    RATE_LIMITED,
    /** FINGERPRINT is required by configuration and the request had none. */
    FINGERPRINT_REQUIRED,
    /** The socket's outbound buffer is full: the response is dropped rather than queued. */
    UNWRITABLE,
    /** A TCP frame header announced more than the TCP message limit; the connection is closed. */
    MESSAGE_TOO_LARGE,
    /** A TCP connection beyond the connection limit; closed at once. */
    TCP_CONNECTION_LIMIT,
    /** A TCP connection idle for longer than the idle timeout; closed. */
    TCP_IDLE,
    /** Anything unexpected (a bug); the server keeps serving. */
    INTERNAL_ERROR;

    public String tag() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static DropReason of(StunDecodeException.Reason reason) {
        return switch (reason) {
            case TOO_SHORT -> TOO_SHORT;
            case NOT_STUN -> NOT_STUN;
            case BAD_COOKIE -> BAD_COOKIE;
            case BAD_LENGTH -> BAD_LENGTH;
            case ATTRIBUTE_OVERFLOW -> ATTRIBUTE_OVERFLOW;
            case TOO_MANY_ATTRIBUTES -> TOO_MANY_ATTRIBUTES;
            case BAD_ATTRIBUTE -> BAD_ATTRIBUTE;
            case FINGERPRINT_NOT_LAST -> FINGERPRINT_NOT_LAST;
            case BAD_FINGERPRINT -> BAD_FINGERPRINT;
        };
    }
}
