package dev.burrow.agent.disco;

import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The sealed box both disco ({@link DiscoBox}) and UDP services ({@code UdpBox}) use, end to end
 * between two node keys; each brings its {@link Format} (HKDF label, header with its magic, message
 * codec), so a key of one never opens a packet of the other.
 *
 * <p>Sending: one session per peer (a fresh ID of {@link Format#sessionLength()} bytes: start time in
 * ms, strictly increasing in this process, then random bytes), a counter from 0 as the
 * ChaCha20-Poly1305 nonce ({@code 0x00000000 || counter u64}); a new session replaces it before
 * {@link Format#rekeyAfterMessages()}, so a nonce never repeats under a key. The key of one direction
 * and session: HKDF-SHA256(X25519 of the node keys, salt = session, info = label 0x00 sender receiver)
 * ({@link DiscoKeys#boxKey(byte[], byte[], byte[], NodeKey, NodeKey)}).
 *
 * <p>Receiving, cheapest first, with no state change on any failure: framing; the sender is valid,
 * not us, and accepted by the caller's predicate; a session older than the sender's current one is
 * dropped (a replayed old session cannot come back); a negative counter is malformed; the counter
 * passes the replay window; the box opens (the whole header is the AAD); the message decodes; only
 * then does the window (or the sender's current session) move.
 *
 * <p>Thread-safe (synchronized).
 *
 * @param <M> the message type
 */
public final class SealedBox<M> {
    private static final String CIPHER = "ChaCha20-Poly1305";

    /** The fields of a framed packet the box needs. */
    public interface Packet {
        NodeKey sender();

        byte[] session();

        long counter();

        byte[] sealed();

        /** The session's start time (its first 8 bytes, unsigned). */
        long sessionStartMillis();
    }

    /**
     * What one wire format brings: its HKDF label (info prefix), session ID length, rekey limit, how
     * many peers keep key state (beyond it the least recently used is forgotten), the header (the
     * AAD, magic first) and its codec (decoders throw on anything malformed).
     */
    public record Format<M>(
            byte[] label,
            int sessionLength,
            long rekeyAfterMessages,
            int maxPeers,
            HeaderWriter header,
            PacketDecoder packets,
            Function<M, byte[]> encoder,
            MessageDecoder<M> decoder) {}

    /** Writes a format's header. */
    @FunctionalInterface
    public interface HeaderWriter {
        byte[] header(NodeKey sender, byte[] session, long counter);
    }

    /** Frames a packet of a format. */
    @FunctionalInterface
    public interface PacketDecoder {
        Packet decode(ByteBuf datagram) throws Exception;
    }

    /** Decodes an opened message of a format. */
    @FunctionalInterface
    public interface MessageDecoder<M> {
        M decode(byte[] plain) throws Exception;
    }

    /** Why {@link #open} dropped a packet (both formats' drop reasons have these). */
    public enum Failure {
        MALFORMED,
        UNKNOWN_SENDER,
        STALE_SESSION,
        REPLAYED,
        UNDECRYPTABLE
    }

    /** A packet that opened: who sealed it (proven), in which of its sessions, and what. */
    public record Opened<M>(NodeKey sender, byte[] session, M message) {}

    /** The outcome of {@link #open}: exactly one of opened and failure is set. */
    public record Result<M>(Opened<M> opened, Failure failure) {}

    private final Format<M> format;
    private final NodeKey self;
    private final byte[] selfX25519;
    private final Predicate<NodeKey> accepts;
    private final SecureRandom random = new SecureRandom();
    private final Map<NodeKey, PeerState> peers;
    private long lastSessionMillis;
    private Cipher sealCipher;
    private Cipher openCipher;

    private static final class PeerState {
        final byte[] shared;
        byte[] sendSession;
        byte[] sendKey;
        long sendCounter;
        byte[] recvSession;
        byte[] recvKey;
        ReplayWindow window;

        PeerState(byte[] shared) {
            this.shared = shared;
        }
    }

    /**
     * @param identity this node
     * @param accepts which senders we talk to at all (others are dropped before any crypto)
     * @param format the wire format
     */
    public SealedBox(NodeIdentity identity, Predicate<NodeKey> accepts, Format<M> format) {
        this.format = format;
        this.self = identity.nodeKey();
        this.selfX25519 = DiscoKeys.x25519Private(identity.privateKey());
        this.accepts = accepts;
        int max = format.maxPeers();
        this.peers = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<NodeKey, PeerState> e) {
                return size() > max;
            }
        };
    }

    public NodeKey self() {
        return self;
    }

    /** Our current sending session to {@code peer} (started when absent). */
    public synchronized byte[] sendSession(NodeKey peer) {
        PeerState st = usable(peer);
        if (st.sendSession == null) {
            newSendSession(peer, st);
        }
        return st.sendSession.clone();
    }

    /** Seals {@code message} for {@code peer}; the returned buffer is the whole packet. */
    public synchronized ByteBuf seal(NodeKey peer, M message, ByteBufAllocator alloc) {
        PeerState st = usable(peer);
        if (st.sendSession == null || st.sendCounter >= format.rekeyAfterMessages()) {
            newSendSession(peer, st);
        }
        long counter = st.sendCounter++;
        byte[] header = format.header().header(self, st.sendSession, counter);
        byte[] plain = format.encoder().apply(message);
        byte[] sealed;
        try {
            Cipher c = sealCipher == null ? (sealCipher = Cipher.getInstance(CIPHER)) : sealCipher;
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(st.sendKey, "ChaCha20"), new IvParameterSpec(nonce(counter)));
            c.updateAAD(header);
            sealed = c.doFinal(plain);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("ChaCha20-Poly1305 unavailable", e);
        }
        ByteBuf out = alloc.buffer(header.length + sealed.length);
        out.writeBytes(header).writeBytes(sealed);
        return out;
    }

    /** Opens a received packet (not consumed, not released). */
    public synchronized Result<M> open(ByteBuf datagram) {
        Packet p;
        try {
            p = format.packets().decode(datagram);
        } catch (Exception e) {
            return drop(Failure.MALFORMED);
        }
        NodeKey sender = p.sender();
        if (sender.equals(self) || !accepts.test(sender)) {
            return drop(Failure.UNKNOWN_SENDER);
        }
        PeerState st = state(sender);
        if (st == null) {
            return drop(Failure.UNKNOWN_SENDER);
        }
        byte[] session = p.session();
        boolean current = st.recvSession != null && Arrays.equals(session, st.recvSession);
        if (!current
                && st.recvSession != null
                && Long.compareUnsigned(p.sessionStartMillis(), startMillis(st.recvSession)) <= 0) {
            return drop(Failure.STALE_SESSION);
        }
        if (p.counter() < 0) {
            return drop(Failure.MALFORMED);
        }
        if (current && !st.window.check(p.counter())) {
            return drop(Failure.REPLAYED);
        }
        byte[] key = current ? st.recvKey : DiscoKeys.boxKey(format.label(), st.shared, session, sender, self);
        byte[] plain;
        try {
            Cipher c = openCipher == null ? (openCipher = Cipher.getInstance(CIPHER)) : openCipher;
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce(p.counter())));
            c.updateAAD(format.header().header(sender, session, p.counter()));
            plain = c.doFinal(p.sealed());
        } catch (GeneralSecurityException e) {
            return drop(Failure.UNDECRYPTABLE);
        }
        M m;
        try {
            m = format.decoder().decode(plain);
        } catch (Exception e) {
            return drop(Failure.MALFORMED);
        }
        if (!current) {
            // an authenticated packet of a newer session: the sender restarted or rekeyed
            st.recvSession = session;
            st.recvKey = key;
            st.window = new ReplayWindow();
        }
        st.window.commit(p.counter());
        return new Result<>(new Opened<>(sender, session, m), null);
    }

    /** Forgets a peer's sessions (both directions start afresh). */
    public synchronized void forget(NodeKey peer) {
        peers.remove(peer);
    }

    /** Tests: moves the sending counter towards the rekey limit. */
    synchronized void sendCounterForTest(NodeKey peer, long counter) {
        PeerState st = usable(peer);
        if (st.sendSession == null) {
            newSendSession(peer, st);
        }
        st.sendCounter = counter;
    }

    private Result<M> drop(Failure f) {
        return new Result<>(null, f);
    }

    private PeerState usable(NodeKey peer) {
        PeerState st = state(peer);
        if (st == null) {
            throw new IllegalArgumentException("not a usable peer key: " + peer.shortId());
        }
        return st;
    }

    private PeerState state(NodeKey peer) {
        PeerState st = peers.get(peer);
        if (st != null) {
            return st;
        }
        if (!Ed25519Keys.isValid(peer)) {
            return null;
        }
        byte[] shared = DiscoKeys.shared(selfX25519, DiscoKeys.x25519Public(peer));
        if (shared == null) {
            return null;
        }
        st = new PeerState(shared);
        peers.put(peer, st);
        return st;
    }

    private void newSendSession(NodeKey peer, PeerState st) {
        long now = Math.max(System.currentTimeMillis(), lastSessionMillis + 1);
        lastSessionMillis = now;
        byte[] session = new byte[format.sessionLength()];
        for (int i = 0; i < 8; i++) {
            session[i] = (byte) (now >>> (56 - 8 * i));
        }
        byte[] rnd = new byte[session.length - 8];
        random.nextBytes(rnd);
        System.arraycopy(rnd, 0, session, 8, rnd.length);
        st.sendSession = session;
        st.sendKey = DiscoKeys.boxKey(format.label(), st.shared, session, self, peer);
        st.sendCounter = 0;
    }

    private static long startMillis(byte[] session) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (session[i] & 0xFF);
        }
        return v;
    }

    private static byte[] nonce(long counter) {
        byte[] n = new byte[12];
        for (int i = 0; i < 8; i++) {
            n[4 + i] = (byte) (counter >>> (56 - 8 * i));
        }
        return n;
    }
}
