package dev.burrow.agent.udp;

import dev.burrow.protocol.frame.ServiceNames;
import java.util.Arrays;
import java.util.HexFormat;

/** The messages of {@link UdpMessageType}, split by direction; {@code flow} is an unsigned 32-bit ID. */
public sealed interface UdpMessage {
    long flow();

    /** Connecting agent to exposing agent. */
    sealed interface ToService extends UdpMessage {}

    /** Exposing agent to connecting agent. */
    sealed interface ToClient extends UdpMessage {}

    /** Asks for a flow to {@code service}, proving who asks with the sender's node certificate (DER). */
    record Open(long flow, String service, byte[] certificate) implements ToService {
        public Open {
            checkFlow(flow);
            ServiceNames.check(service);
            if (certificate.length > UdpLimits.MAX_CERTIFICATE) {
                throw new IllegalArgumentException("certificate over " + UdpLimits.MAX_CERTIFICATE + " bytes");
            }
            certificate = certificate.clone();
        }

        @Override
        public byte[] certificate() {
            return certificate.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Open x
                    && flow == x.flow
                    && service.equals(x.service)
                    && Arrays.equals(certificate, x.certificate);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(flow) * 31 + service.hashCode();
        }

        @Override
        public String toString() {
            return "Open[" + flow + ", " + service + ", cert " + certificate.length + " bytes]";
        }
    }

    /** One datagram from the local source towards the target. */
    record Data(long flow, byte[] payload) implements ToService {
        public Data {
            checkFlow(flow);
            checkPayload(payload);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Data x && flow == x.flow && Arrays.equals(payload, x.payload);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(flow) * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Data[" + flow + ", " + payload.length + " bytes]";
        }
    }

    /** The connecting side forgot the flow. */
    record Close(long flow, int reason) implements ToService {
        public Close {
            checkFlow(flow);
            checkByte(reason);
        }
    }

    /** The flow is admitted, for the OPEN sender's {@code session}. */
    record Opened(long flow, byte[] session) implements ToClient {
        public Opened {
            checkFlow(flow);
            if (session.length != UdpLimits.SESSION_LENGTH) {
                throw new IllegalArgumentException("session IDs are " + UdpLimits.SESSION_LENGTH + " bytes");
            }
            session = session.clone();
        }

        @Override
        public byte[] session() {
            return session.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Opened x && flow == x.flow && Arrays.equals(session, x.session);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(flow) * 31 + Arrays.hashCode(session);
        }

        @Override
        public String toString() {
            return "Opened[" + flow + ", " + HexFormat.of().formatHex(session) + "]";
        }
    }

    /** The flow is refused: {@code code} is a {@code StreamStatusCode} number, {@code reason} for people. */
    record Refused(long flow, int code, String reason) implements ToClient {
        public Refused {
            checkFlow(flow);
            checkByte(code);
            reason = UdpCodec.cut(reason == null ? "" : reason);
        }
    }

    /** One datagram from the target back to the local source. */
    record Reply(long flow, byte[] payload) implements ToClient {
        public Reply {
            checkFlow(flow);
            checkPayload(payload);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Reply x && flow == x.flow && Arrays.equals(payload, x.payload);
        }

        @Override
        public int hashCode() {
            return Long.hashCode(flow) * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Reply[" + flow + ", " + payload.length + " bytes]";
        }
    }

    /** The exposing side forgot the flow ({@link UdpCloseReason}). */
    record Closed(long flow, int reason) implements ToClient {
        public Closed {
            checkFlow(flow);
            checkByte(reason);
        }
    }

    /** A type this version does not know: {@code body} is everything after the type byte. */
    record Unknown(int type, byte[] body) implements UdpMessage {
        public Unknown {
            checkByte(type);
            if (UdpMessageType.of(type) != null) {
                throw new IllegalArgumentException("type " + type + " is known");
            }
            body = body.clone();
        }

        @Override
        public long flow() {
            return body.length >= 4
                    ? ((body[0] & 0xFFL) << 24)
                            | ((body[1] & 0xFFL) << 16)
                            | ((body[2] & 0xFFL) << 8)
                            | (body[3] & 0xFFL)
                    : -1;
        }

        @Override
        public byte[] body() {
            return body.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown x && type == x.type && Arrays.equals(body, x.body);
        }

        @Override
        public int hashCode() {
            return type * 31 + Arrays.hashCode(body);
        }
    }

    private static void checkFlow(long flow) {
        if (flow < 0 || flow > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("flow IDs are unsigned 32-bit");
        }
    }

    private static void checkByte(int v) {
        if (v < 0 || v > 0xFF) {
            throw new IllegalArgumentException("not a byte: " + v);
        }
    }

    private static void checkPayload(byte[] payload) {
        if (payload.length > UdpLimits.MAX_PAYLOAD) {
            throw new IllegalArgumentException(
                    "datagram of " + payload.length + " bytes over " + UdpLimits.MAX_PAYLOAD);
        }
    }
}
