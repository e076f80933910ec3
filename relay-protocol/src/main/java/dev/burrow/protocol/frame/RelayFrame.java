package dev.burrow.protocol.frame;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;

/** Frames a relay sends to a client. Layouts: {@link FrameType}. */
public sealed interface RelayFrame extends Frame
        permits RelayFrame.ServerHello,
                RelayFrame.ServerAccept,
                RelayFrame.Deny,
                RelayFrame.RecvDatagram,
                RelayFrame.PeerPresent,
                RelayFrame.PeerGone,
                RelayFrame.Keepalive,
                RelayFrame.Health,
                RelayFrame.Restarting,
                RelayFrame.RateLimited,
                RelayFrame.CircuitOffer,
                RelayFrame.CircuitAccepted,
                RelayFrame.CircuitRejected,
                RelayFrame.CircuitAttached,
                RelayFrame.Published,
                RelayFrame.PublishRefused,
                RelayFrame.NameResult,
                Frame.Ping,
                Frame.Pong,
                Frame.Unknown {

    /** Opens every control connection: versions and this connection's challenge. */
    record ServerHello(int version, int minVersion, byte[] challenge, String relayId) implements RelayFrame {
        public ServerHello {
            if (challenge == null || challenge.length != RelayProtocol.CHALLENGE_LENGTH) {
                throw new IllegalArgumentException("challenge must be " + RelayProtocol.CHALLENGE_LENGTH + " bytes");
            }
            challenge = challenge.clone();
            relayId = ShortStrings.truncate(relayId);
        }

        @Override
        public byte[] challenge() {
            return challenge.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.SERVER_HELLO;
        }

        @Override
        public String toString() {
            return "ServerHello[version=" + version + ", minVersion=" + minVersion + ", relayId=" + relayId + "]";
        }
    }

    /** Authentication succeeded. */
    /**
     * @param stunPort the UDP port of the relay's STUN server on the relay's host (since 0.3.0; an
     *     optional trailing u16): 0 = the relay serves no STUN, {@link #STUN_PORT_ABSENT} = not sent
     *     (an older relay: agents assume 3478)
     */
    record ServerAccept(long keepaliveMillis, long maxDatagram, String observedAddress, int stunPort)
            implements RelayFrame {
        /** {@link #stunPort} when the field is absent (not sent, or sent by a relay older than 0.3.0). */
        public static final int STUN_PORT_ABSENT = -1;

        public ServerAccept {
            observedAddress = ShortStrings.truncate(observedAddress);
            if (stunPort < STUN_PORT_ABSENT || stunPort > 0xFFFF) {
                throw new IllegalArgumentException("stunPort must be 0-65535 or absent, got " + stunPort);
            }
        }

        public ServerAccept(long keepaliveMillis, long maxDatagram, String observedAddress) {
            this(keepaliveMillis, maxDatagram, observedAddress, STUN_PORT_ABSENT);
        }

        @Override
        public FrameType type() {
            return FrameType.SERVER_ACCEPT;
        }
    }

    /** The relay refuses the connection and closes it. */
    record Deny(DenyReason reason, String message) implements RelayFrame {
        public Deny {
            Objects.requireNonNull(reason, "reason");
            message = ShortStrings.truncate(message);
        }

        @Override
        public FrameType type() {
            return FrameType.DENY;
        }
    }

    /** A datagram from {@code source} (authenticated by the relay). Reference-counted payload. */
    record RecvDatagram(NodeKey source, ByteBuf payload) implements RelayFrame, DatagramFrame {
        public RecvDatagram {
            Objects.requireNonNull(source, "source");
            DatagramFrame.checkPayload(payload);
        }

        @Override
        public FrameType type() {
            return FrameType.RECV_DATAGRAM;
        }

        @Override
        public NodeKey peer() {
            return source;
        }

        @Override
        public RecvDatagram retain() {
            payload.retain();
            return this;
        }

        @Override
        public RecvDatagram retain(int increment) {
            payload.retain(increment);
            return this;
        }

        @Override
        public RecvDatagram touch() {
            payload.touch();
            return this;
        }

        @Override
        public RecvDatagram touch(Object hint) {
            payload.touch(hint);
            return this;
        }
    }

    record PeerPresent(NodeKey peer) implements RelayFrame {
        public PeerPresent {
            Objects.requireNonNull(peer, "peer");
        }

        @Override
        public FrameType type() {
            return FrameType.PEER_PRESENT;
        }
    }

    record PeerGone(NodeKey peer, PeerGoneReason reason) implements RelayFrame {
        public PeerGone {
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(reason, "reason");
        }

        @Override
        public FrameType type() {
            return FrameType.PEER_GONE;
        }
    }

    record Keepalive() implements RelayFrame {
        @Override
        public FrameType type() {
            return FrameType.KEEPALIVE;
        }
    }

    /** @param problem empty when healthy */
    record Health(String problem) implements RelayFrame {
        public Health {
            problem = ShortStrings.truncate(problem);
        }

        public boolean healthy() {
            return problem.isEmpty();
        }

        @Override
        public FrameType type() {
            return FrameType.HEALTH;
        }
    }

    record Restarting(long reconnectInMillis, long tryForMillis) implements RelayFrame {
        public Restarting {
            ShortStrings.checkU32(reconnectInMillis, "reconnectInMillis");
            ShortStrings.checkU32(tryForMillis, "tryForMillis");
        }

        @Override
        public FrameType type() {
            return FrameType.RESTARTING;
        }
    }

    record RateLimited(long bytesPerSecond, long burstBytes) implements RelayFrame {
        public RateLimited {
            ShortStrings.checkU32(bytesPerSecond, "bytesPerSecond");
            ShortStrings.checkU32(burstBytes, "burstBytes");
        }

        @Override
        public FrameType type() {
            return FrameType.RATE_LIMITED;
        }
    }

    /**
     * @param flags {@link #FLAG_INGRESS} or 0; an offer without the flags byte (before 0.2.0) decodes as 0
     */
    record CircuitOffer(CircuitId circuitId, NodeKey source, String service, CircuitToken token, int flags)
            implements RelayFrame {
        /** A public-ingress circuit: no dialer node, no end-to-end TLS, a PROXY v2 header first. */
        public static final int FLAG_INGRESS = 1;
        /** Every flag this build knows; an offer with another bit set is refused. */
        public static final int KNOWN_FLAGS = FLAG_INGRESS;

        public CircuitOffer {
            Objects.requireNonNull(circuitId, "circuitId");
            Objects.requireNonNull(source, "source");
            ServiceNames.check(service);
            Objects.requireNonNull(token, "token");
            if (flags < 0 || flags > 0xFF) {
                throw new IllegalArgumentException("flags is a u8");
            }
        }

        /** An ordinary node-to-node offer. */
        public CircuitOffer(CircuitId circuitId, NodeKey source, String service, CircuitToken token) {
            this(circuitId, source, service, token, 0);
        }

        public boolean ingress() {
            return (flags & FLAG_INGRESS) != 0;
        }

        public boolean hasUnknownFlags() {
            return (flags & ~KNOWN_FLAGS) != 0;
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_OFFER;
        }
    }

    record CircuitAccepted(long requestId, CircuitId circuitId, CircuitToken token) implements RelayFrame {
        public CircuitAccepted {
            ShortStrings.checkU32(requestId, "requestId");
            Objects.requireNonNull(circuitId, "circuitId");
            Objects.requireNonNull(token, "token");
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_ACCEPTED;
        }
    }

    record CircuitRejected(long requestId, CircuitRejectReason reason, String message) implements RelayFrame {
        public CircuitRejected {
            ShortStrings.checkU32(requestId, "requestId");
            Objects.requireNonNull(reason, "reason");
            message = ShortStrings.truncate(message);
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_REJECTED;
        }
    }

    /** Public ingress: {@code service} is reachable on the relay's {@code port}. */
    record Published(String service, int port, String publicAddress) implements RelayFrame {
        public Published {
            ServiceNames.check(service);
            if (port < 1 || port > 0xFFFF) {
                throw new IllegalArgumentException("port must be 1-65535");
            }
            publicAddress = ShortStrings.truncate(publicAddress);
        }

        @Override
        public FrameType type() {
            return FrameType.PUBLISHED;
        }
    }

    /** Public ingress: {@code service} is not (or no longer) published. */
    record PublishRefused(String service, PublishRefusedReason reason, String message) implements RelayFrame {
        public PublishRefused {
            ServiceNames.check(service);
            Objects.requireNonNull(reason, "reason");
            message = ShortStrings.truncate(message);
        }

        @Override
        public FrameType type() {
            return FrameType.PUBLISH_REFUSED;
        }
    }

    record CircuitAttached() implements RelayFrame {
        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_ATTACHED;
        }
    }

    /** The answer to LOOKUP_NAME: keys of connected nodes with that CA-issued name (possibly none). */
    record NameResult(long requestId, List<NodeKey> keys) implements RelayFrame {
        public NameResult {
            ShortStrings.checkU32(requestId, "requestId");
            keys = List.copyOf(keys);
            if (keys.size() > FrameLimits.MAX_NAME_RESULT_KEYS) {
                throw new IllegalArgumentException("at most " + FrameLimits.MAX_NAME_RESULT_KEYS + " keys");
            }
        }

        @Override
        public FrameType type() {
            return FrameType.NAME_RESULT;
        }
    }
}
