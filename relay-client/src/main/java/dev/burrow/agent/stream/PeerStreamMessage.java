package dev.burrow.agent.stream;

import dev.burrow.protocol.frame.ServiceNames;
import java.util.Arrays;
import java.util.Objects;

/** A peer stream preamble message (layouts in {@link PeerStreamMessageType}). */
public sealed interface PeerStreamMessage {

    /** Messages the dialer sends. */
    sealed interface FromDialer extends PeerStreamMessage {}

    /** Messages the listener sends. */
    sealed interface FromListener extends PeerStreamMessage {}

    /** OPEN: which service the dialer wants, in which preamble version. */
    record Open(int version, String service) implements FromDialer {
        public Open {
            if (version < 0 || version > 0xFFFF) {
                throw new IllegalArgumentException("version is a u16");
            }
            ServiceNames.check(service);
        }

        public static Open of(String service) {
            return new Open(PeerStreamProtocol.VERSION, service);
        }
    }

    /** STATUS: the listener's answer. The message is for humans and never carries secrets. */
    record Status(StreamStatusCode code, String message) implements FromListener {
        public Status {
            Objects.requireNonNull(code, "code");
            message = PeerStreamCodec.truncate(message);
        }

        public static Status ok() {
            return new Status(StreamStatusCode.OK, "");
        }

        public boolean isOk() {
            return code == StreamStatusCode.OK;
        }
    }

    /** A message of a type this version does not know (kept so the handler can refuse it politely). */
    record Unknown(int type, byte[] payload) implements FromDialer, FromListener {
        public Unknown {
            payload = payload.clone();
        }

        @Override
        public byte[] payload() {
            return payload.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Unknown u && u.type == type && Arrays.equals(u.payload, payload);
        }

        @Override
        public int hashCode() {
            return type * 31 + Arrays.hashCode(payload);
        }

        @Override
        public String toString() {
            return "Unknown[type=" + type + ", " + payload.length + " bytes]";
        }
    }
}
