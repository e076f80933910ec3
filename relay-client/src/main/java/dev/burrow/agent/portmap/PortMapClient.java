package dev.burrow.agent.portmap;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * Asks one gateway for a UDP port mapping: PCP first, then NAT-PMP, then UPnP IGD
 * ({@link UpnpClient}). Blocking, bounded: each protocol gets {@link #TRIES} requests, each waiting
 * {@link #TRY_TIMEOUT} for its answer, so a LAN without a mapping-capable gateway costs at most
 * {@link #WORST_CASE} (a UPnP gateway that answers SSDP then gets bounded HTTP exchanges). Answers that are not ours or
 * not usable are refused (counted in {@link PortMapCounters}, the reason kept for the outcome), and
 * never throw. Requests go only to the gateway given (the default gateway, {@link DefaultGateway}).
 */
public final class PortMapClient {
    /**
     * A gateway on the LAN answers within milliseconds; RFC 6887's 3 s initial retransmission is
     * for a long-lived daemon, not for an agent that would rather stay on the relay than wait.
     */
    public static final Duration TRY_TIMEOUT = Duration.ofMillis(250);
    /** One retransmission covers a single lost datagram on the LAN. */
    public static final int TRIES = 2;
    /** The longest a {@link #map} can take when nothing answers: the three protocols, every try. */
    public static final Duration WORST_CASE = TRY_TIMEOUT.multipliedBy(TRIES * 3L);
    /** RFC 6886 section 3.3 recommends two hours; PCP servers cap it at their own maximum. */
    public static final long REQUESTED_LIFETIME_SECONDS = 7200;
    /** Larger than any PCP message (1100 bytes): a longer datagram is refused as too large. */
    static final int RECEIVE_BUFFER = 1104;

    private final InetSocketAddress gateway;
    private final PortMapCounters counters;
    private final UpnpClient upnp;

    /** {@code gateway}: the gateway's address and port ({@link PcpCodec#SERVER_PORT} in production). */
    public PortMapClient(InetSocketAddress gateway, PortMapCounters counters) {
        this.gateway = gateway;
        this.counters = counters;
        this.upnp = new UpnpClient(gateway, counters);
    }

    public InetSocketAddress gateway() {
        return gateway;
    }

    /** What a mapping attempt found: the mapping, or why none, and which protocols the gateway answered. */
    public record Outcome(Optional<PortMap> map, List<PortMapProtocol> answered, String reason) {}

    /** Maps UDP {@code internalPort}: a new mapping when {@code previous} is null, else its renewal. */
    public Outcome map(int internalPort, PortMap previous) {
        List<PortMapProtocol> answered = new ArrayList<>();
        List<String> reasons = new ArrayList<>();
        if (previous == null || previous.protocol() == PortMapProtocol.PCP) {
            Attempt<PortMap> pcp = pcp(internalPort, REQUESTED_LIFETIME_SECONDS, previous);
            if (pcp.offered()) {
                answered.add(PortMapProtocol.PCP);
            }
            if (pcp.value() != null) {
                return new Outcome(Optional.of(pcp.value()), answered, "mapped with PCP");
            }
            reasons.add("pcp: " + pcp.reason());
        }
        if (previous == null || previous.protocol() == PortMapProtocol.NAT_PMP) {
            Attempt<PortMap> pmp = natPmp(internalPort, REQUESTED_LIFETIME_SECONDS, previous);
            if (pmp.offered()) {
                answered.add(PortMapProtocol.NAT_PMP);
            }
            if (pmp.value() != null) {
                return new Outcome(Optional.of(pmp.value()), answered, "mapped with NAT-PMP");
            }
            reasons.add("nat-pmp: " + pmp.reason());
        }
        if (previous == null || previous.protocol() == PortMapProtocol.UPNP) {
            Attempt<PortMap> igd = upnp.map(internalPort, previous);
            if (igd.offered()) {
                answered.add(PortMapProtocol.UPNP);
            }
            if (igd.value() != null) {
                return new Outcome(Optional.of(igd.value()), answered, "mapped with UPnP");
            }
            reasons.add("upnp: " + igd.reason());
        }
        return new Outcome(Optional.empty(), answered, String.join("; ", reasons));
    }

    /**
     * Which protocols the gateway speaks, without mapping anything: a PCP ANNOUNCE, a NAT-PMP
     * external-address request and a UPnP discovery (each bounded like a mapping attempt).
     */
    public PortMapProbe probe() {
        List<PortMapProtocol> offered = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        InetAddress external = null;
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(gateway);
            if (s.getLocalAddress() instanceof Inet4Address client && !client.isAnyLocalAddress()) {
                Attempt<PcpCodec.AnnounceResponse> pcp =
                        exchange(s, PcpCodec.encodeAnnounce(client), PcpCodec::decodeAnnounceResponse);
                if (pcp.value() != null) {
                    offered.add(PortMapProtocol.PCP);
                } else {
                    problems.add("pcp: " + pcp.reason());
                }
            }
            Attempt<NatPmpCodec.AddressResponse> pmp =
                    exchange(s, NatPmpCodec.encodeAddressRequest(), NatPmpCodec::decodeAddressResponse);
            if (pmp.value() != null) {
                offered.add(PortMapProtocol.NAT_PMP);
                external = pmp.value().externalAddress();
            } else {
                problems.add("nat-pmp: " + pmp.reason());
            }
        } catch (IOException e) {
            problems.add(e.toString());
        }
        Attempt<UpnpCodec.WanService> igd = upnp.discover();
        if (igd.value() != null) {
            offered.add(PortMapProtocol.UPNP);
        } else {
            problems.add("upnp: " + igd.reason());
        }
        return new PortMapProbe(gateway, offered, external, problems.isEmpty() ? null : String.join("; ", problems));
    }

    /** Deletes a mapping (lifetime 0); true when the gateway confirmed. */
    public boolean delete(PortMap m) {
        return switch (m.protocol()) {
            case PCP -> pcp(m.internalPort(), 0, m).value() != null;
            case NAT_PMP -> natPmp(m.internalPort(), 0, m).value() != null;
            case UPNP -> upnp.delete(m);
        };
    }

    /** One protocol's result: a value, or a reason; and whether the gateway answered at all. */
    record Attempt<T>(T value, boolean answered, String reason, Refusal refusal) {
        Attempt(T value, boolean answered, String reason) {
            this(value, answered, reason, null);
        }

        /** The gateway speaks this protocol (it answered, and not with another protocol's version). */
        boolean offered() {
            return answered && refusal != Refusal.VERSION;
        }
    }

    private Attempt<PortMap> pcp(int internalPort, long lifetime, PortMap previous) {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(gateway);
            if (!(s.getLocalAddress() instanceof Inet4Address client) || client.isAnyLocalAddress()) {
                return new Attempt<>(null, false, "no IPv4 source address towards the gateway");
            }
            PcpNonce nonce = previous != null && previous.nonce() != null ? previous.nonce() : PcpNonce.random();
            Inet4Address suggestedAddress =
                    previous != null && previous.external().getAddress() instanceof Inet4Address a ? a : null;
            PcpCodec.MapRequest q = new PcpCodec.MapRequest(
                    lifetime,
                    client,
                    nonce,
                    PcpCodec.PROTOCOL_UDP,
                    internalPort,
                    previous == null ? internalPort : previous.external().getPort(),
                    suggestedAddress);
            Attempt<PcpCodec.MapResponse> r = exchange(s, PcpCodec.encode(q), (d, n) -> {
                Decoded<PcpCodec.MapResponse> dec = PcpCodec.decodeResponse(d, n);
                return dec instanceof Decoded.Ok<PcpCodec.MapResponse> ok ? PcpCodec.check(q, ok.value()) : dec;
            });
            if (r.value() == null) {
                return new Attempt<>(null, r.answered(), r.reason(), r.refusal());
            }
            PcpCodec.MapResponse ok = r.value();
            return new Attempt<>(
                    new PortMap(
                            PortMapProtocol.PCP,
                            internalPort,
                            new InetSocketAddress(ok.externalAddress(), ok.externalPort()),
                            ok.lifetimeSeconds(),
                            System.nanoTime(),
                            nonce,
                            null),
                    true,
                    null);
        } catch (IOException e) {
            return new Attempt<>(null, false, e.toString());
        }
    }

    private Attempt<PortMap> natPmp(int internalPort, long lifetime, PortMap previous) {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(gateway);
            InetAddress external;
            if (previous != null) {
                external = previous.external().getAddress();
            } else {
                Attempt<NatPmpCodec.AddressResponse> a =
                        exchange(s, NatPmpCodec.encodeAddressRequest(), NatPmpCodec::decodeAddressResponse);
                if (a.value() == null) {
                    return new Attempt<>(null, a.answered(), a.reason(), a.refusal());
                }
                external = a.value().externalAddress();
                if (external.isAnyLocalAddress()) {
                    return new Attempt<>(null, true, "the gateway has no external address yet (0.0.0.0)");
                }
            }
            NatPmpCodec.MapRequest q = new NatPmpCodec.MapRequest(
                    NatPmpCodec.OPCODE_MAP_UDP,
                    internalPort,
                    lifetime == 0
                            ? 0
                            : previous == null
                                    ? internalPort
                                    : previous.external().getPort(),
                    lifetime);
            Attempt<NatPmpCodec.MapResponse> r = exchange(s, NatPmpCodec.encode(q), (d, n) -> {
                Decoded<NatPmpCodec.MapResponse> dec = NatPmpCodec.decodeMapResponse(d, n);
                return dec instanceof Decoded.Ok<NatPmpCodec.MapResponse> ok ? NatPmpCodec.check(q, ok.value()) : dec;
            });
            if (r.value() == null) {
                return new Attempt<>(null, r.answered(), r.reason(), r.refusal());
            }
            NatPmpCodec.MapResponse ok = r.value();
            return new Attempt<>(
                    new PortMap(
                            PortMapProtocol.NAT_PMP,
                            internalPort,
                            new InetSocketAddress(external, ok.externalPort()),
                            ok.lifetimeSeconds(),
                            System.nanoTime(),
                            null,
                            null),
                    true,
                    null);
        } catch (IOException e) {
            return new Attempt<>(null, false, e.toString());
        }
    }

    /**
     * Sends {@code request} up to {@link #TRIES} times; after each send, reads answers until
     * {@link #TRY_TIMEOUT} passed, refusing (and counting) the ones {@code decode} refuses. The
     * socket is connected, so datagrams from anywhere but the gateway never reach it.
     */
    private <T> Attempt<T> exchange(DatagramSocket s, byte[] request, BiFunction<byte[], Integer, Decoded<T>> decode)
            throws IOException {
        byte[] buf = new byte[RECEIVE_BUFFER];
        boolean answered = false;
        String lastRefusal = null;
        Refusal lastKind = null;
        for (int attempt = 0; attempt < TRIES; attempt++) {
            s.send(new DatagramPacket(request, request.length));
            long deadline = System.nanoTime() + TRY_TIMEOUT.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                s.setSoTimeout((int) Math.max(1, left / 1_000_000));
                DatagramPacket p = new DatagramPacket(buf, buf.length);
                try {
                    s.receive(p);
                } catch (SocketTimeoutException e) {
                    break;
                } catch (PortUnreachableException e) {
                    return new Attempt<>(null, false, "the gateway has no port-mapping server (port unreachable)");
                }
                answered = true;
                switch (decode.apply(buf, p.getLength())) {
                    case Decoded.Ok<T> ok -> {
                        return new Attempt<>(ok.value(), true, null);
                    }
                    case Decoded.Refused<T> no -> {
                        counters.refused(no.refusal());
                        lastRefusal = no.reason();
                        lastKind = no.refusal();
                        if (no.refusal() == Refusal.RESULT_CODE || no.refusal() == Refusal.VERSION) {
                            // A definite answer from the gateway: asking again changes nothing.
                            return new Attempt<>(null, true, no.reason(), no.refusal());
                        }
                    }
                }
            }
        }
        if (lastRefusal != null) {
            return new Attempt<>(null, answered, "no usable answer (last refused: " + lastRefusal + ")", lastKind);
        }
        return new Attempt<>(null, false, "no answer after " + TRIES + " tries of " + TRY_TIMEOUT.toMillis() + " ms");
    }
}
