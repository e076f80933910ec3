package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/** Mesh frames (layouts in {@link MeshFrameType}). Only {@link Datagram} holds a buffer. */
public sealed interface MeshFrame {

    record Hello(int version, MeshProtocol.Purpose purpose, byte[] instanceId, byte[] nonce, String relayId)
            implements MeshFrame {
        public Hello {
            if (instanceId.length != MeshProtocol.INSTANCE_ID_LENGTH || nonce.length != MeshProtocol.NONCE_LENGTH) {
                throw new IllegalArgumentException("bad instance id or nonce length");
            }
            instanceId = instanceId.clone();
            nonce = nonce.clone();
        }

        @Override
        public byte[] instanceId() {
            return instanceId.clone();
        }

        @Override
        public byte[] nonce() {
            return nonce.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Hello h
                    && h.version == version
                    && h.purpose == purpose
                    && Arrays.equals(h.instanceId, instanceId)
                    && Arrays.equals(h.nonce, nonce)
                    && h.relayId.equals(relayId);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(instanceId) * 31 + version;
        }

        @Override
        public String toString() {
            return "Hello[v" + version + " " + purpose + " " + relayId + "]";
        }
    }

    /** The MAC is a secret-derived value: never printed. */
    record Auth(byte[] mac) implements MeshFrame {
        public Auth {
            if (mac.length != MeshAuth.MAC_LENGTH) {
                throw new IllegalArgumentException("bad MAC length");
            }
            mac = mac.clone();
        }

        @Override
        public byte[] mac() {
            return mac.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Auth a && Arrays.equals(a.mac, mac);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(mac);
        }

        @Override
        public String toString() {
            return "Auth[redacted]";
        }
    }

    record Keepalive() implements MeshFrame {}

    record Present(List<NodeKey> keys) implements MeshFrame {
        public Present {
            keys = checkKeys(keys);
        }
    }

    record Gone(List<NodeKey> keys) implements MeshFrame {
        public Gone {
            keys = checkKeys(keys);
        }
    }

    /**
     * Certified names of the sender's nodes. {@code name} empty = the node has no certified name any
     * more (it is still connected).
     */
    record Names(List<Named> entries) implements MeshFrame {
        public Names {
            if (entries.size() > MeshProtocol.MAX_NAMES_PER_FRAME) {
                throw new IllegalArgumentException("at most " + MeshProtocol.MAX_NAMES_PER_FRAME + " names per frame");
            }
            entries = List.copyOf(entries);
        }
    }

    /** One NAMES entry: {@code name} is a valid node name or empty (cleared). */
    record Named(NodeKey key, String name) {
        public Named {
            Objects.requireNonNull(key, "key");
            if (!name.isEmpty() && !NodeNames.isValid(name)) {
                throw new IllegalArgumentException("invalid node name");
            }
        }

        /** True when the entry clears the node's name. */
        public boolean cleared() {
            return name.isEmpty();
        }
    }

    /** Owns {@code payload} (a reference-counted buffer): whoever consumes it releases it. */
    record Datagram(NodeKey source, NodeKey destination, ByteBuf payload) implements MeshFrame, ReferenceCounted {
        @Override
        public int refCnt() {
            return payload.refCnt();
        }

        @Override
        public Datagram retain() {
            payload.retain();
            return this;
        }

        @Override
        public Datagram retain(int increment) {
            payload.retain(increment);
            return this;
        }

        @Override
        public Datagram touch() {
            payload.touch();
            return this;
        }

        @Override
        public Datagram touch(Object hint) {
            payload.touch(hint);
            return this;
        }

        @Override
        public boolean release() {
            return payload.release();
        }

        @Override
        public boolean release(int decrement) {
            return payload.release(decrement);
        }
    }

    record CircuitRequest(long meshRequestId, NodeKey dialer, NodeKey listener, String service) implements MeshFrame {}

    record CircuitAccepted(long meshRequestId, CircuitId circuitId, CircuitToken token) implements MeshFrame {
        @Override
        public String toString() {
            return "CircuitAccepted[" + meshRequestId + " " + circuitId + " token=redacted]";
        }
    }

    record CircuitRejected(long meshRequestId, CircuitRejectReason reason, String message) implements MeshFrame {}

    record CircuitAttach(CircuitId circuitId, CircuitToken token) implements MeshFrame {
        @Override
        public String toString() {
            return "CircuitAttach[" + circuitId + " token=redacted]";
        }
    }

    /** Gives a pooled circuit connection its circuit; {@code mac} proves the token (see {@link MeshAuth#bindMac}). */
    record CircuitBind(CircuitId circuitId, byte[] mac) implements MeshFrame {
        public CircuitBind {
            Objects.requireNonNull(circuitId, "circuitId");
            if (mac.length != MeshAuth.MAC_LENGTH) {
                throw new IllegalArgumentException("bad mac length");
            }
            mac = mac.clone();
        }

        @Override
        public byte[] mac() {
            return mac.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CircuitBind b && b.circuitId.equals(circuitId) && Arrays.equals(b.mac, mac);
        }

        @Override
        public int hashCode() {
            return circuitId.hashCode() * 31 + Arrays.hashCode(mac);
        }

        @Override
        public String toString() {
            return "CircuitBind[" + circuitId + " mac=redacted]";
        }
    }

    /** A frame type this version does not know: skipped and counted. */
    record Unknown(int code, int length) implements MeshFrame {}

    private static List<NodeKey> checkKeys(List<NodeKey> keys) {
        if (keys.size() > MeshProtocol.MAX_KEYS_PER_PRESENCE) {
            throw new IllegalArgumentException("at most " + MeshProtocol.MAX_KEYS_PER_PRESENCE + " keys per frame");
        }
        return List.copyOf(keys);
    }
}
