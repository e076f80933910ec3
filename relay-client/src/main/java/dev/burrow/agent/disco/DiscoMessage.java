package dev.burrow.agent.disco;

import java.net.InetSocketAddress;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/** Disco messages (the plaintext inside a sealed packet). Layouts: {@link DiscoMessageType}. */
public sealed interface DiscoMessage {

    /** A connectivity check; answered with a {@link Pong} to the address it came from. */
    record Ping(byte[] txId, int padding) implements DiscoMessage {
        public Ping {
            requireTxId(txId);
            if (padding < 0 || 1 + DiscoLimits.TX_ID_LENGTH + padding > DiscoLimits.MAX_PLAINTEXT) {
                throw new IllegalArgumentException("padding out of range: " + padding);
            }
            txId = txId.clone();
        }

        @Override
        public byte[] txId() {
            return txId.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ping p && Arrays.equals(txId, p.txId) && padding == p.padding;
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(txId) * 31 + padding;
        }

        @Override
        public String toString() {
            return "Ping[" + HexFormat.of().formatHex(txId) + ", padding " + padding + "]";
        }
    }

    /** The answer to a ping: its transaction ID and the ping's source address as seen. */
    record Pong(byte[] txId, InetSocketAddress observed) implements DiscoMessage {
        public Pong {
            requireTxId(txId);
            Objects.requireNonNull(observed, "observed");
            txId = txId.clone();
        }

        @Override
        public byte[] txId() {
            return txId.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Pong p && Arrays.equals(txId, p.txId) && observed.equals(p.observed);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(txId) * 31 + observed.hashCode();
        }

        @Override
        public String toString() {
            return "Pong[" + HexFormat.of().formatHex(txId) + ", " + observed + "]";
        }
    }

    /** The sender's candidate endpoints: "ping me on these now". */
    record CallMeMaybe(List<InetSocketAddress> endpoints) implements DiscoMessage {
        public CallMeMaybe {
            endpoints = List.copyOf(endpoints);
            if (endpoints.isEmpty() || endpoints.size() > DiscoLimits.MAX_ENDPOINTS) {
                throw new IllegalArgumentException(
                        "1 to " + DiscoLimits.MAX_ENDPOINTS + " endpoints, not " + endpoints.size());
            }
        }
    }

    /**
     * How the sender's NAT maps its direct socket, and the port mapping its gateway granted (through
     * the relay only).
     *
     * @param portMapProtocol 0 none, 1 PCP, 2 NAT-PMP, 3 UPnP IGD
     * @param portMapped the mapped address, null exactly when {@code portMapProtocol} is 0
     */
    record NatInfo(NatMapping mapping, int portMapProtocol, InetSocketAddress portMapped) implements DiscoMessage {
        public NatInfo {
            Objects.requireNonNull(mapping, "mapping");
            if (portMapProtocol < 0 || portMapProtocol > 3 || (portMapProtocol == 0) != (portMapped == null)) {
                throw new IllegalArgumentException("port mapping " + portMapProtocol + " with address " + portMapped);
            }
        }
    }

    /** A node's view of its own NAT's mapping behaviour (from STUN answers of two or more servers). */
    enum NatMapping {
        /** Fewer than two STUN servers answered: nothing known. */
        UNKNOWN,
        /** Every destination sees the same public endpoint ("easy" NAT, or no NAT). */
        ENDPOINT_INDEPENDENT,
        /** Each destination sees another public endpoint ("hard", symmetric NAT). */
        ENDPOINT_DEPENDENT,
        /** STUN servers were asked and none answered: UDP is probably blocked. */
        NO_UDP;

        /** The wire code; codes this version does not know read as {@link #UNKNOWN}. */
        public static NatMapping of(int code) {
            return code >= 0 && code < values().length ? values()[code] : UNKNOWN;
        }
    }

    /** A type this version does not know (forward compatibility); ignored by receivers. */
    record Unknown(int type, byte[] payload) implements DiscoMessage {
        public Unknown {
            payload = payload.clone();
        }

        @Override
        public byte[] payload() {
            return payload.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && type == u.type && Arrays.equals(payload, u.payload);
        }

        @Override
        public int hashCode() {
            return type * 31 + Arrays.hashCode(payload);
        }
    }

    private static void requireTxId(byte[] txId) {
        if (txId == null || txId.length != DiscoLimits.TX_ID_LENGTH) {
            throw new IllegalArgumentException("transaction IDs are " + DiscoLimits.TX_ID_LENGTH + " bytes");
        }
    }
}
