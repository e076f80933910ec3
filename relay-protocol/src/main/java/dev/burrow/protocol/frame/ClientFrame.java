package dev.burrow.protocol.frame;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.RelayProtocol;
import io.netty.buffer.ByteBuf;
import java.util.List;
import java.util.Objects;

/** Frames a client sends to a relay. Layouts: {@link FrameType}. */
public sealed interface ClientFrame extends Frame
        permits ClientFrame.ClientAuth,
                ClientFrame.SendDatagram,
                ClientFrame.CircuitRequest,
                ClientFrame.CircuitAccept,
                ClientFrame.CircuitReject,
                ClientFrame.CircuitAttach,
                ClientFrame.Publish,
                ClientFrame.Unpublish,
                ClientFrame.LookupName,
                Frame.Ping,
                Frame.Pong,
                Frame.Unknown {

    /** Bit 0 of {@link ClientAuth#flags()}: this client accepts circuit offers (it exposes services). */
    int FLAG_ACCEPTS_CIRCUITS = 1;

    /**
     * The client's proof of identity, bound to this connection's challenge.
     *
     * @param certificateChain DER certificates, leaf first; empty in key-only mode
     */
    record ClientAuth(
            int version, int flags, NodeKey key, byte[] signature, List<byte[]> certificateChain, String software)
            implements ClientFrame {
        public ClientAuth {
            Objects.requireNonNull(key, "key");
            if (signature == null || signature.length != RelayProtocol.SIGNATURE_LENGTH) {
                throw new IllegalArgumentException("signature must be " + RelayProtocol.SIGNATURE_LENGTH + " bytes");
            }
            if (certificateChain.size() > FrameLimits.MAX_CHAIN_CERTIFICATES) {
                throw new IllegalArgumentException("at most " + FrameLimits.MAX_CHAIN_CERTIFICATES + " certificates");
            }
            signature = signature.clone();
            certificateChain = List.copyOf(certificateChain);
            Objects.requireNonNull(software, "software");
        }

        public boolean acceptsCircuits() {
            return (flags & FLAG_ACCEPTS_CIRCUITS) != 0;
        }

        @Override
        public byte[] signature() {
            return signature.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.CLIENT_AUTH;
        }

        @Override
        public String toString() {
            return "ClientAuth[version=" + version + ", flags=" + flags + ", key=" + key.shortId() + ", chain="
                    + certificateChain.size() + ", software=" + software + "]";
        }
    }

    /**
     * A datagram for {@code destination}. Holds a reference-counted payload: whoever receives this
     * frame releases it (or passes it on).
     */
    record SendDatagram(NodeKey destination, ByteBuf payload) implements ClientFrame, DatagramFrame {
        public SendDatagram {
            Objects.requireNonNull(destination, "destination");
            DatagramFrame.checkPayload(payload);
        }

        @Override
        public FrameType type() {
            return FrameType.SEND_DATAGRAM;
        }

        @Override
        public NodeKey peer() {
            return destination;
        }

        @Override
        public SendDatagram retain() {
            payload.retain();
            return this;
        }

        @Override
        public SendDatagram retain(int increment) {
            payload.retain(increment);
            return this;
        }

        @Override
        public SendDatagram touch() {
            payload.touch();
            return this;
        }

        @Override
        public SendDatagram touch(Object hint) {
            payload.touch(hint);
            return this;
        }
    }

    /** Ask for a circuit to {@code service} on {@code destination}; answered by CIRCUIT_ACCEPTED or CIRCUIT_REJECTED. */
    record CircuitRequest(long requestId, NodeKey destination, String service) implements ClientFrame {
        public CircuitRequest {
            checkRequestId(requestId);
            Objects.requireNonNull(destination, "destination");
            ServiceNames.check(service);
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_REQUEST;
        }
    }

    /** The listener takes an offered circuit. */
    record CircuitAccept(CircuitId circuitId) implements ClientFrame {
        public CircuitAccept {
            Objects.requireNonNull(circuitId, "circuitId");
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_ACCEPT;
        }
    }

    /** The listener refuses an offered circuit. */
    record CircuitReject(CircuitId circuitId, CircuitRejectReason reason, String message) implements ClientFrame {
        public CircuitReject {
            Objects.requireNonNull(circuitId, "circuitId");
            Objects.requireNonNull(reason, "reason");
            message = ShortStrings.truncate(message);
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_REJECT;
        }
    }

    /** Attach this connection to a circuit (the only frame of a circuit connection). */
    record CircuitAttach(CircuitId circuitId, CircuitToken token) implements ClientFrame {
        public CircuitAttach {
            Objects.requireNonNull(circuitId, "circuitId");
            Objects.requireNonNull(token, "token");
        }

        @Override
        public FrameType type() {
            return FrameType.CIRCUIT_ATTACH;
        }
    }

    /**
     * Public ingress: publish {@code service} on a public port of the relay, open to clients inside
     * one of {@code sources}.
     *
     * @param maxConnections public connections at once (the relay may lower it)
     * @param idleTimeoutMillis a public connection idle this long is closed (the relay may lower it)
     */
    record Publish(String service, long maxConnections, long idleTimeoutMillis, List<SourcePrefix> sources)
            implements ClientFrame {
        public Publish {
            ServiceNames.check(service);
            ShortStrings.checkU32(maxConnections, "maxConnections");
            ShortStrings.checkU32(idleTimeoutMillis, "idleTimeoutMillis");
            sources = List.copyOf(sources);
            if (sources.isEmpty() || sources.size() > FrameLimits.MAX_INGRESS_SOURCES) {
                throw new IllegalArgumentException("1 to " + FrameLimits.MAX_INGRESS_SOURCES + " source prefixes");
            }
        }

        @Override
        public FrameType type() {
            return FrameType.PUBLISH;
        }
    }

    /** Public ingress: stop publishing {@code service}. */
    record Unpublish(String service) implements ClientFrame {
        public Unpublish {
            ServiceNames.check(service);
        }

        @Override
        public FrameType type() {
            return FrameType.UNPUBLISH;
        }
    }

    /** Which connected nodes carry {@code name} in a CA-issued certificate? Answered by NAME_RESULT. */
    record LookupName(long requestId, String name) implements ClientFrame {
        public LookupName {
            checkRequestId(requestId);
            if (!NodeNames.isValid(name)) {
                throw new IllegalArgumentException("invalid node name: use 1-" + FrameLimits.MAX_NODE_NAME
                        + " characters a-z, 0-9 and '-', starting and ending with a letter or digit");
            }
        }

        @Override
        public FrameType type() {
            return FrameType.LOOKUP_NAME;
        }
    }

    private static void checkRequestId(long requestId) {
        if (requestId < 0 || requestId > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("requestId is a u32");
        }
    }
}
