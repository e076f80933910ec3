package dev.burrow.protocol.frame;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * A decoded relay-protocol frame. Frames are split by direction ({@link ClientFrame} from client to
 * relay, {@link RelayFrame} from relay to client); the few that travel both ways are defined here.
 * Layouts are in {@link FrameType}; {@link FrameCodec} encodes and decodes.
 */
public sealed interface Frame permits ClientFrame, RelayFrame {

    FrameType type();

    /** Liveness probe, either direction; the receiver echoes {@code data} in a {@link Pong}. */
    record Ping(byte[] data) implements ClientFrame, RelayFrame {
        public Ping {
            checkPingData(data);
            data = data.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.PING;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Ping p && Arrays.equals(data, p.data);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Ping[" + HexFormat.of().formatHex(data, 0, Math.min(8, data.length)) + "]";
        }
    }

    /** Answer to a {@link Ping}, carrying the same data. */
    record Pong(byte[] data) implements ClientFrame, RelayFrame {
        public Pong {
            checkPingData(data);
            data = data.clone();
        }

        @Override
        public FrameType type() {
            return FrameType.PONG;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Pong p && Arrays.equals(data, p.data);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(data);
        }

        @Override
        public String toString() {
            return "Pong[" + HexFormat.of().formatHex(data, 0, Math.min(8, data.length)) + "]";
        }
    }

    /**
     * A frame of a type this build does not know. Its payload was skipped, not buffered; it is
     * surfaced only so that handlers can count it.
     */
    record Unknown(int typeCode, int length) implements ClientFrame, RelayFrame {
        @Override
        public FrameType type() {
            return null;
        }
    }

    private static void checkPingData(byte[] data) {
        if (data == null || data.length < FrameLimits.MIN_PING_DATA || data.length > FrameLimits.MAX_PING_DATA) {
            throw new IllegalArgumentException(
                    "ping data must be " + FrameLimits.MIN_PING_DATA + ".." + FrameLimits.MAX_PING_DATA + " bytes");
        }
    }
}
