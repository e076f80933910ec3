package dev.burrow.agent.direct;

import dev.burrow.agent.disco.DiscoBox;
import dev.burrow.agent.disco.DiscoCodec;
import dev.burrow.agent.disco.DiscoDropReason;
import dev.burrow.agent.disco.DiscoLimits;
import dev.burrow.agent.disco.DiscoMessage;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.channel.socket.DatagramPacket;
import java.net.InetSocketAddress;
import java.security.SecureRandom;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Disco signalling: seals and opens disco packets, sends PING to a candidate and CALL_ME_MAYBE
 * through the relay, answers PING with PONG (never more than three times the ping's size towards
 * an unvalidated address) and learns peer-reflexive candidates from it. What a matched PONG or a
 * CALL_ME_MAYBE means for the punch schedule is the {@link Events}' to decide.
 */
final class DiscoExchange {
    private static final Logger log = LoggerFactory.getLogger(DirectManager.class);

    /** What the schedule learns from disco. Called on the event loop. */
    interface Events {
        /** A PONG answered our PING to {@code from}: that path works, with this round trip. */
        void pathProven(DirectPeer p, InetSocketAddress from, long rttNanos, long now);

        /** The peer announced its candidates through the relay (already stored in {@code p.candidates}). */
        void callMeMaybe(DirectPeer p, List<InetSocketAddress> endpoints, long now);

        /** The peer pinged {@code sock} directly from {@code from} (already answered). */
        default void directPing(DirectPeer p, DirectSocket sock, InetSocketAddress from, long now) {}
    }

    // Final after construction.
    private final DiscoBox box;
    private final DirectManager.Signalling signalling;
    private final DirectPeers peers;
    private final Events events;
    private final SecureRandom random = new SecureRandom();

    // Any thread: counters (status and tests), moved on the event loop.
    final Map<DiscoDropReason, LongAdder> drops = new EnumMap<>(DiscoDropReason.class);
    final LongAdder pingsSent = new LongAdder();
    final LongAdder pongsSent = new LongAdder();
    /** Announced candidates not pinged: IPv6 without a dual-stack socket, link-local, multicast (see {@link PathPreference#usable}). */
    final LongAdder candidatesIgnored = new LongAdder();

    DiscoExchange(DiscoBox box, DirectManager.Signalling signalling, DirectPeers peers, Events events) {
        this.box = box;
        this.signalling = signalling;
        this.peers = peers;
        this.events = events;
        for (DiscoDropReason r : DiscoDropReason.values()) {
            drops.put(r, new LongAdder());
        }
    }

    /**
     * Announces our candidates to the peer through the relay, at most once per {@link
     * DirectLimits#CALL_ME_MAYBE_MIN_INTERVAL}. Returns whether it went to the relay: false when
     * throttled, when discovery has not finished yet, or when the relay is not connected or busy.
     */
    boolean sendCallMeMaybe(DirectPeer p, long now) {
        if (now - p.lastCallMeMaybeNanos < DirectLimits.CALL_ME_MAYBE_MIN_INTERVAL.toNanos()) {
            return false;
        }
        List<InetSocketAddress> eps = p.sock().endpoints();
        if (eps.isEmpty()) {
            return false; // discovery not done yet; the schedule retries soon
        }
        p.lastCallMeMaybeNanos = now;
        boolean sent = signalling.send(
                p.key,
                box.seal(
                        p.key,
                        new DiscoMessage.CallMeMaybe(eps),
                        p.sock().channel().alloc()));
        log.info(
                "call-me-maybe to {} with {} candidates{}",
                p.key.shortId(),
                eps.size(),
                sent ? "" : ": dropped (relay not connected or busy)");
        if (sent) {
            // how our NAT maps: it decides whether (and which side) sprays when punching fails
            signalling.send(
                    p.key, box.seal(p.key, natInfo(p.sock()), p.sock().channel().alloc()));
        }
        return sent;
    }

    /** How the NAT in front of {@code s} maps, from its STUN answers. */
    static DiscoMessage.NatMapping ownMapping(DirectSocket s) {
        var d = s.discovery();
        if (d == null) {
            return DiscoMessage.NatMapping.UNKNOWN;
        }
        if (d.stunUnanswered()) {
            return DiscoMessage.NatMapping.NO_UDP;
        }
        Boolean varies = d.mappingVaries();
        return varies == null
                ? DiscoMessage.NatMapping.UNKNOWN
                : varies ? DiscoMessage.NatMapping.ENDPOINT_DEPENDENT : DiscoMessage.NatMapping.ENDPOINT_INDEPENDENT;
    }

    /** Our NAT_INFO for a peer we talk to from {@code s}: its mapping behaviour and its gateway port mapping. */
    static DiscoMessage.NatInfo natInfo(DirectSocket s) {
        var pm = s.portMapping();
        var held = pm == null ? null : pm.held().orElse(null);
        if (held == null) {
            return new DiscoMessage.NatInfo(ownMapping(s), 0, null);
        }
        return new DiscoMessage.NatInfo(ownMapping(s), held.protocol().ordinal() + 1, held.external());
    }

    /** A spray probe: a PING to {@code to} from {@code s}, not recorded (the answer that counts is the peer's own PING). */
    void probe(DirectPeer p, DirectSocket s, InetSocketAddress to) {
        byte[] tx = new byte[DiscoLimits.TX_ID_LENGTH];
        random.nextBytes(tx);
        s.channel()
                .writeAndFlush(new DatagramPacket(
                        box.seal(
                                p.key,
                                new DiscoMessage.Ping(tx, DirectLimits.PING_PADDING),
                                s.channel().alloc()),
                        to));
    }

    /** Pings {@code to} from the socket of our role (at most {@link DirectLimits#MAX_PENDING_PINGS} in flight per peer). */
    void ping(DirectPeer p, InetSocketAddress to, long now) {
        if (p.pending.size() >= DirectLimits.MAX_PENDING_PINGS) {
            return;
        }
        byte[] tx = new byte[DiscoLimits.TX_ID_LENGTH];
        random.nextBytes(tx);
        p.pending.put(new DirectPeer.TxKey(tx), new DirectPeer.Pending(to, now));
        DirectSocket s = p.pathSock();
        s.channel()
                .writeAndFlush(new DatagramPacket(
                        box.seal(
                                p.key,
                                new DiscoMessage.Ping(tx, DirectLimits.PING_PADDING),
                                s.channel().alloc()),
                        to));
        pingsSent.increment();
    }

    /** On the loop: a disco packet that came through the relay from {@code source} (authenticated there). */
    void receiveFromRelay(NodeKey source, ByteBuf packet) {
        DiscoBox.Result r = box.open(packet);
        if (r.opened() == null) {
            drops.get(r.dropped()).increment();
            return;
        }
        if (!r.opened().sender().equals(source)) {
            drops.get(DiscoDropReason.UNKNOWN_SENDER).increment();
            return;
        }
        DirectPeer p = peers.getOrCreate(source);
        if (p != null) {
            handle(p, r.opened().message(), null, null);
        }
    }

    /** On the loop: a disco packet that arrived on one of our sockets. */
    void receiveDirect(DirectSocket sock, ByteBuf content, InetSocketAddress from) {
        DiscoBox.Result r = box.open(content);
        if (r.opened() == null) {
            drops.get(r.dropped()).increment();
            return;
        }
        DirectPeer p = peers.get(r.opened().sender());
        if (p == null) {
            // direct disco only from peers we already signal with through the relay
            drops.get(DiscoDropReason.UNKNOWN_SENDER).increment();
            return;
        }
        handle(p, r.opened().message(), sock, from);
    }

    private void handle(DirectPeer p, DiscoMessage m, DirectSocket sock, InetSocketAddress from) {
        long now = System.nanoTime();
        switch (m) {
            case DiscoMessage.Ping ping -> {
                if (sock == null) {
                    return; // pings only make sense directly
                }
                int pingBytes =
                        DiscoLimits.HEADER_LENGTH + DiscoCodec.encodeMessage(ping).length + DiscoLimits.TAG_LENGTH;
                ByteBuf pong = box.seal(
                        p.key,
                        new DiscoMessage.Pong(ping.txId(), from),
                        sock.channel().alloc());
                if (pong.readableBytes() > 3 * pingBytes) {
                    pong.release(); // anti-amplification towards an unvalidated address
                    return;
                }
                sock.channel().writeAndFlush(new DatagramPacket(pong, from));
                pongsSent.increment();
                p.lastPeerPingNanos = now;
                p.lastPeerPingFrom = from;
                if (p.candidates.size() < DirectLimits.MAX_CANDIDATES && p.candidates.add(from) && !p.trusted(now)) {
                    ping(p, from, now); // peer-reflexive candidate: check it from our side too
                }
                events.directPing(p, sock, from, now);
            }
            case DiscoMessage.Pong pong -> {
                DirectPeer.Pending pending = p.pending.remove(new DirectPeer.TxKey(pong.txId()));
                if (pending == null || sock == null || !pending.to().equals(from)) {
                    drops.get(DiscoDropReason.UNKNOWN_TRANSACTION).increment();
                    return;
                }
                p.observedSelf = pong.observed();
                events.pathProven(p, from, now - pending.sentNanos(), now);
            }
            case DiscoMessage.CallMeMaybe cmm -> {
                if (sock != null) {
                    return; // only accepted through the relay, where the sender is authenticated twice
                }
                p.candidates.clear();
                for (InetSocketAddress c : cmm.endpoints()) {
                    if (PathPreference.usable(c, p.sock())) {
                        p.candidates.add(c);
                    } else {
                        candidatesIgnored.increment();
                    }
                }
                p.announced.clear();
                p.announced.addAll(cmm.endpoints());
                events.callMeMaybe(p, cmm.endpoints(), now);
            }
            case DiscoMessage.NatInfo info -> {
                if (sock != null) {
                    return; // only accepted through the relay, like CALL_ME_MAYBE
                }
                p.peerMapping = info.mapping();
                p.peerPortMapProtocol = info.portMapProtocol();
                p.peerPortMapped = info.portMapped();
            }
            case DiscoMessage.Unknown u -> {
                // a later version's message: ignored
            }
        }
    }
}
