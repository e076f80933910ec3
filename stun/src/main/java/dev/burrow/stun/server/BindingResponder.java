package dev.burrow.stun.server;

import dev.burrow.stun.codec.Integrity;
import dev.burrow.stun.codec.IntegrityAlgorithm;
import dev.burrow.stun.codec.StunAttribute;
import dev.burrow.stun.codec.StunAttribute.ChangeRequest;
import dev.burrow.stun.codec.StunAttribute.ErrorCode;
import dev.burrow.stun.codec.StunAttributeType;
import dev.burrow.stun.codec.StunClass;
import dev.burrow.stun.codec.StunCodec;
import dev.burrow.stun.codec.StunCodec.IntegrityCheck;
import dev.burrow.stun.codec.StunCodec.VerifiedIntegrity;
import dev.burrow.stun.codec.StunDecodeException;
import dev.burrow.stun.codec.StunMessage;
import dev.burrow.stun.limit.SourceRateLimiter;
import dev.burrow.stun.metrics.DropReason;
import dev.burrow.stun.metrics.StunMetrics;
import dev.burrow.stun.metrics.StunProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;

/**
 * The stateless heart of the server: one request's bytes and source in, one response's bytes (or
 * nothing) out. Shared by the UDP and TCP handlers; holds no per-request or per-source state
 * except the optional bounded rate limiter.
 *
 * <p>Response size policy (amplification, RFC 8489 §16.1.2): a success carries only
 * XOR-MAPPED-ADDRESS, plus RESPONSE-ORIGIN and OTHER-ADDRESS in RFC 5780 mode, SOFTWARE and
 * FINGERPRINT only when configured, MESSAGE-INTEGRITY only for authenticated requests. Errors carry
 * ERROR-CODE without a reason phrase (and UNKNOWN-ATTRIBUTES for 420), never MESSAGE-INTEGRITY
 * or USERNAME.
 */
final class BindingResponder {
    /** A response to send: its bytes (owned by the caller), which UDP socket sends it, and whether it is an error. */
    record Reply(ByteBuf content, int socketIndex, boolean error, int responsePort) {
        /** No RESPONSE-PORT: answer the request's source port. */
        static final int SOURCE_PORT = -1;
    }

    private final StunServerConfig config;
    private final SourceRateLimiter limiter;
    private final UdpSockets sockets;
    private final StunMetrics metrics;
    private final StunAttribute.Software software;

    BindingResponder(StunServerConfig config, SourceRateLimiter limiter, UdpSockets sockets, StunMetrics metrics) {
        this.config = config;
        this.limiter = limiter;
        this.sockets = sockets;
        this.metrics = metrics;
        this.software = config.software() == null ? null : new StunAttribute.Software(config.software());
    }

    SourceRateLimiter limiter() {
        return limiter;
    }

    /**
     * @param request     the message bytes (not released, indices not moved)
     * @param sender      where it came from (the mapped address we report)
     * @param socketIndex which UDP socket received it ({@link UdpSockets}); 0 for TCP
     * @return the reply, or null when dropped (the drop is counted)
     */
    Reply respond(
            ByteBuf request, InetSocketAddress sender, int socketIndex, StunProtocol protocol, ByteBufAllocator alloc) {
        StunMessage req;
        try {
            req = StunCodec.decode(request);
        } catch (StunDecodeException e) {
            metrics.dropped(DropReason.of(e.reason()));
            return null;
        }
        if (req.messageClass() != StunClass.REQUEST) {
            metrics.dropped(DropReason.NOT_A_REQUEST);
            return null;
        }
        if (config.requireFingerprint()
                && req.attribute(StunAttribute.Fingerprint.class).isEmpty()) {
            metrics.dropped(DropReason.FINGERPRINT_REQUIRED);
            return null;
        }
        if (limiter != null && !limiter.tryAcquire(sender.getAddress())) {
            metrics.dropped(DropReason.RATE_LIMITED);
            return null;
        }
        if (req.method() != StunMessage.BINDING) {
            return error(req, ErrorCode.BAD_REQUEST, null, socketIndex, alloc);
        }
        boolean changeAllowed = config.rfc5780() && protocol == StunProtocol.UDP;
        List<Integer> unknown = null;
        ChangeRequest change = null;
        int responsePort = Reply.SOURCE_PORT;
        for (StunAttribute a : req.attributes()) {
            int type = -1;
            if (a instanceof StunAttribute.Unknown u
                    && u.comprehensionRequired()
                    && !(changeAllowed && u.type() == StunAttributeType.PADDING)) {
                type = u.type();
            } else if (a instanceof StunAttribute.ResponsePort rp) {
                // RFC 5780 §7.5; only in RFC 5780 mode, where reflection to another port of the same IP is accepted.
                if (changeAllowed && rp.port() == 0) {
                    return error(req, ErrorCode.BAD_REQUEST, null, socketIndex, alloc);
                } else if (changeAllowed) {
                    responsePort = responsePort == Reply.SOURCE_PORT ? rp.port() : responsePort;
                } else {
                    type = StunAttributeType.RESPONSE_PORT;
                }
            } else if (a instanceof ChangeRequest c) {
                if (changeAllowed) {
                    change = change == null ? c : change;
                } else {
                    type = StunAttributeType.CHANGE_REQUEST;
                }
            }
            if (type >= 0) {
                if (unknown == null) {
                    unknown = new ArrayList<>(4);
                }
                if (unknown.size() < StunAttribute.MAX_UNKNOWN_TYPES && !unknown.contains(type)) {
                    unknown.add(type);
                }
            }
        }
        if (unknown != null) {
            return error(
                    req, ErrorCode.UNKNOWN_ATTRIBUTE, new StunAttribute.UnknownAttributes(unknown), socketIndex, alloc);
        }
        Integrity integrity = null;
        if (config.credentials() != null) {
            var username = req.attribute(StunAttribute.Username.class);
            boolean hasMac = req.attribute(StunAttribute.MessageIntegrity.class).isPresent()
                    || req.attribute(StunAttribute.MessageIntegritySha256.class).isPresent();
            if (username.isEmpty() || !hasMac) {
                return error(req, ErrorCode.BAD_REQUEST, null, socketIndex, alloc);
            }
            byte[] key = config.credentials().keyFor(username.get().value());
            if (key == null || key.length == 0) {
                return error(req, ErrorCode.UNAUTHENTICATED, null, socketIndex, alloc);
            }
            Integrity candidate = new Integrity(IntegrityAlgorithm.HMAC_SHA1, key);
            VerifiedIntegrity verified = StunCodec.verifyIntegrity(request, candidate);
            if (verified.check() != IntegrityCheck.VALID) {
                return error(req, ErrorCode.UNAUTHENTICATED, null, socketIndex, alloc);
            }
            integrity = candidate.withAlgorithm(verified.algorithm());
        }

        int target = socketIndex;
        List<StunAttribute> attributes = new ArrayList<>(5);
        attributes.add(new StunAttribute.XorMappedAddress(sender));
        if (changeAllowed) {
            if (change != null) {
                target ^= (change.changeIp() ? UdpSockets.CHANGE_IP : 0)
                        | (change.changePort() ? UdpSockets.CHANGE_PORT : 0);
            }
            InetSocketAddress origin = sockets.address(target);
            InetSocketAddress other = sockets.address(socketIndex ^ UdpSockets.OTHER);
            if (origin == null || other == null) {
                // RFC 5780 sockets still binding (start-up only).
                metrics.dropped(DropReason.UNWRITABLE);
                return null;
            }
            attributes.add(new StunAttribute.ResponseOrigin(origin));
            attributes.add(new StunAttribute.OtherAddress(other));
        }
        if (software != null) {
            attributes.add(software);
        }
        StunMessage response =
                new StunMessage(StunClass.SUCCESS_RESPONSE, StunMessage.BINDING, req.transactionId(), attributes);
        return new Reply(encode(response, integrity, alloc), target, false, responsePort);
    }

    private Reply error(StunMessage req, int code, StunAttribute extra, int socketIndex, ByteBufAllocator alloc) {
        List<StunAttribute> attributes = new ArrayList<>(3);
        attributes.add(new ErrorCode(code, ""));
        if (extra != null) {
            attributes.add(extra);
        }
        if (software != null) {
            attributes.add(software);
        }
        StunMessage response = new StunMessage(StunClass.ERROR_RESPONSE, req.method(), req.transactionId(), attributes);
        return new Reply(encode(response, null, alloc), socketIndex, true, Reply.SOURCE_PORT);
    }

    private ByteBuf encode(StunMessage response, Integrity integrity, ByteBufAllocator alloc) {
        int length = StunCodec.encodedLength(response, integrity, config.fingerprint());
        // Exactly the response size: every byte is written, so a pooled buffer leaks nothing old.
        ByteBuf out = alloc.ioBuffer(length, length);
        try {
            StunCodec.encode(response, out, integrity, config.fingerprint());
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        }
    }
}
