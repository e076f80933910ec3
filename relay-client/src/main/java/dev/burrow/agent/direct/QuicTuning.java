package dev.burrow.agent.direct;

import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import java.util.Locale;
import java.util.Map;

/**
 * The QUIC transport parameters of the direct path, in one place, with their defaults and the
 * measurements behind them in {@code docs/benchmarks.md} ("Direct path: QUIC without the inner
 * TLS"). Each can be overridden by an environment variable for benchmarking ({@code
 * BURROW_QUIC_*}, read once at start); a bad value is refused at start with a clear message.
 *
 * @param congestionControl quiche's congestion controller ({@code BURROW_QUIC_CC}: cubic, reno, bbr)
 * @param maxUdpPayload the largest UDP payload sent and accepted ({@code BURROW_QUIC_UDP_PAYLOAD};
 *     quiche starts at 1200 and, with {@code discoverPmtu}, probes up to this; without it, sends
 *     datagrams this large from the start, which a link with a smaller MTU drops)
 * @param discoverPmtu path MTU discovery ({@code BURROW_QUIC_PMTUD}: on, off)
 * @param connectionWindow initial connection flow-control window, bytes ({@code BURROW_QUIC_CONN_WINDOW})
 * @param streamWindow initial per-stream flow-control window, bytes ({@code BURROW_QUIC_STREAM_WINDOW})
 * @param gsoSegments UDP segmentation offload: datagrams per send call, 0 for none ({@code
 *     BURROW_QUIC_GSO}); only when the direct sockets run on epoll ({@code
 *     BURROW_DIRECT_TRANSPORT}, see {@code DirectAgentSupport.directSocketsOnEpoll}), ignored on NIO
 */
record QuicTuning(
        QuicCongestionControlAlgorithm congestionControl,
        int maxUdpPayload,
        boolean discoverPmtu,
        long connectionWindow,
        long streamWindow,
        int gsoSegments) {

    /**
     * The largest UDP payload quiche may grow to by path MTU discovery: 1500-byte Ethernet less the
     * IPv6 and UDP headers (48 bytes), so it fits both IP versions on a standard link; smaller links
     * (PPPoE, tunnels) keep the probe unanswered and quiche stays at the size that got through.
     */
    static final int DISCOVERED_PAYLOAD_MAX = 1452;

    /**
     * The defaults: CUBIC, path MTU discovery from 1200 up to {@link #DISCOVERED_PAYLOAD_MAX} (1.2×
     * the throughput at 0.8× the CPU per byte of fixed 1200-byte datagrams, docs/benchmarks.md
     * "Direct path: larger datagrams and GSO"), 16 MiB / 2 MiB windows, no GSO (worse with 8 streams).
     */
    static final QuicTuning DEFAULT =
            new QuicTuning(QuicCongestionControlAlgorithm.CUBIC, DISCOVERED_PAYLOAD_MAX, true, 16 << 20, 2 << 20, 0);

    QuicTuning {
        if (maxUdpPayload < 1200 || maxUdpPayload > 65527) {
            throw new IllegalArgumentException("QUIC UDP payload must be 1200-65527 bytes, not " + maxUdpPayload);
        }
        if (streamWindow < 65536 || connectionWindow < streamWindow) {
            throw new IllegalArgumentException(
                    "QUIC windows: stream window ≥ 64 KiB and connection window ≥ stream window");
        }
        if (gsoSegments < 0 || gsoSegments > 64) {
            throw new IllegalArgumentException("QUIC GSO segments must be 0-64, not " + gsoSegments);
        }
    }

    /** The defaults with the {@code BURROW_QUIC_*} overrides of {@code env}. */
    static QuicTuning fromEnvironment(Map<String, String> env) {
        QuicTuning d = DEFAULT;
        try {
            return new QuicTuning(
                    env.containsKey("BURROW_QUIC_CC")
                            ? QuicCongestionControlAlgorithm.valueOf(
                                    env.get("BURROW_QUIC_CC").toUpperCase(Locale.ROOT))
                            : d.congestionControl,
                    intOr(env, "BURROW_QUIC_UDP_PAYLOAD", d.maxUdpPayload),
                    env.containsKey("BURROW_QUIC_PMTUD") ? onOff(env.get("BURROW_QUIC_PMTUD")) : d.discoverPmtu,
                    longOr(env, "BURROW_QUIC_CONN_WINDOW", d.connectionWindow),
                    longOr(env, "BURROW_QUIC_STREAM_WINDOW", d.streamWindow),
                    intOr(env, "BURROW_QUIC_GSO", d.gsoSegments));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("bad BURROW_QUIC_* setting: " + e.getMessage(), e);
        }
    }

    private static int intOr(Map<String, String> env, String key, int d) {
        return env.containsKey(key) ? Integer.parseInt(env.get(key).trim()) : d;
    }

    private static long longOr(Map<String, String> env, String key, long d) {
        return env.containsKey(key) ? Long.parseLong(env.get(key).trim()) : d;
    }

    private static boolean onOff(String v) {
        return switch (v.trim().toLowerCase(Locale.ROOT)) {
            case "on", "true", "1" -> true;
            case "off", "false", "0" -> false;
            default -> throw new IllegalArgumentException("expected on or off, not " + v);
        };
    }

    /** Applies the transport parameters to a client or server codec builder. */
    <B extends QuicCodecBuilder<B>> B apply(B b) {
        return b.congestionControlAlgorithm(congestionControl)
                .maxSendUdpPayloadSize(maxUdpPayload)
                .maxRecvUdpPayloadSize(maxUdpPayload)
                .discoverPmtu(discoverPmtu)
                .initialMaxData(connectionWindow)
                .initialMaxStreamDataBidirectionalLocal(streamWindow)
                .initialMaxStreamDataBidirectionalRemote(streamWindow);
    }

    @Override
    public String toString() {
        return "cc=" + congestionControl.name().toLowerCase(Locale.ROOT) + " udp-payload=" + maxUdpPayload
                + " pmtud=" + (discoverPmtu ? "on" : "off") + " windows=" + (connectionWindow >> 10) + "/"
                + (streamWindow >> 10) + " KiB gso=" + gsoSegments;
    }
}
