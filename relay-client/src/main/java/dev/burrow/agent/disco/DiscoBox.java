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
import java.util.function.Predicate;
import javax.crypto.AEADBadTagException;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Seals and opens disco packets between this node and its peers: end-to-end authenticated and
 * encrypted between the two node keys (see {@link DiscoKeys}), replay-protected.
 *
 * <p>Sending: one session per peer (a fresh 16-byte session ID: start time in ms, strictly
 * increasing in this process, and 8 random bytes), a counter from 0 as the ChaCha20-Poly1305 nonce
 * ({@code 0x00000000 || counter u64}); a new session replaces it before
 * {@link DiscoLimits#REKEY_AFTER_MESSAGES}, so a nonce never repeats under a key (nonce reuse and replay).
 *
 * <p>Receiving, in this order (cheapest first; nothing is answered and no state changes on any
 * failure, unknown or malformed disco messages): framing and limits; the sender is valid, not us, and accepted by the caller's
 * predicate (known peers); a session older than the sender's current one is dropped (handshake replay: a
 * replayed old session cannot come back); the counter passes the replay window; the box opens;
 * only then does the window (or the sender's current session) move.
 *
 * <p>Thread-safe (synchronized: disco is a few packets per second per peer).
 */
public final class DiscoBox {
    /** Peers with key state; beyond this the least recently used is forgotten (bounded memory). */
    public static final int MAX_PEERS = 4096;

    private static final String CIPHER = "ChaCha20-Poly1305";

    /** A packet that opened: who sent it (proven by the box) and what. */
    public record Opened(NodeKey sender, DiscoMessage message) {}

    /** The outcome of {@link #open}: exactly one of opened and dropped is set. */
    public record Result(Opened opened, DiscoDropReason dropped) {
        static Result drop(DiscoDropReason r) {
            return new Result(null, r);
        }
    }

    private final NodeKey self;
    private final byte[] selfX25519;
    private final Predicate<NodeKey> accepts;
    private final SecureRandom random = new SecureRandom();
    private final Map<NodeKey, PeerState> peers = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodeKey, PeerState> e) {
            return size() > MAX_PEERS;
        }
    };
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
     */
    public DiscoBox(NodeIdentity identity, Predicate<NodeKey> accepts) {
        this.self = identity.nodeKey();
        this.selfX25519 = DiscoKeys.x25519Private(identity.privateKey());
        this.accepts = accepts;
    }

    public NodeKey self() {
        return self;
    }

    /** Seals {@code message} for {@code peer}; the returned buffer is the whole datagram. */
    public synchronized ByteBuf seal(NodeKey peer, DiscoMessage message, ByteBufAllocator alloc) {
        PeerState st = state(peer);
        if (st == null) {
            throw new IllegalArgumentException("not a usable peer key: " + peer.shortId());
        }
        if (st.sendSession == null || st.sendCounter >= DiscoLimits.REKEY_AFTER_MESSAGES) {
            newSendSession(peer, st);
        }
        long counter = st.sendCounter++;
        byte[] header = DiscoCodec.header(self, st.sendSession, counter);
        byte[] plain = DiscoCodec.encodeMessage(message);
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

    /** Opens a received datagram (not consumed, not released). */
    public synchronized Result open(ByteBuf datagram) {
        DiscoPacket p;
        try {
            p = DiscoCodec.decodePacket(datagram);
        } catch (DiscoDecodeException e) {
            return Result.drop(DiscoDropReason.MALFORMED);
        }
        NodeKey sender = p.sender();
        if (sender.equals(self) || !accepts.test(sender)) {
            return Result.drop(DiscoDropReason.UNKNOWN_SENDER);
        }
        PeerState st = state(sender);
        if (st == null) {
            return Result.drop(DiscoDropReason.UNKNOWN_SENDER);
        }
        byte[] session = p.session();
        boolean current = st.recvSession != null && Arrays.equals(session, st.recvSession);
        if (!current
                && st.recvSession != null
                && Long.compareUnsigned(p.sessionStartMillis(), startMillis(st.recvSession)) <= 0) {
            return Result.drop(DiscoDropReason.STALE_SESSION);
        }
        if (current && !st.window.check(p.counter())) {
            return Result.drop(DiscoDropReason.REPLAYED);
        }
        if (p.counter() < 0) {
            return Result.drop(DiscoDropReason.MALFORMED);
        }
        byte[] key = current ? st.recvKey : DiscoKeys.boxKey(st.shared, session, sender, self);
        byte[] plain;
        try {
            Cipher c = openCipher == null ? (openCipher = Cipher.getInstance(CIPHER)) : openCipher;
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce(p.counter())));
            c.updateAAD(DiscoCodec.header(sender, session, p.counter()));
            plain = c.doFinal(p.sealed());
        } catch (AEADBadTagException e) {
            return Result.drop(DiscoDropReason.UNDECRYPTABLE);
        } catch (GeneralSecurityException e) {
            return Result.drop(DiscoDropReason.UNDECRYPTABLE);
        }
        DiscoMessage m;
        try {
            m = DiscoCodec.decodeMessage(plain);
        } catch (DiscoDecodeException e) {
            return Result.drop(DiscoDropReason.MALFORMED);
        }
        if (!current) {
            // an authenticated packet of a newer session: the sender restarted or rekeyed
            st.recvSession = session;
            st.recvKey = key;
            st.window = new ReplayWindow();
        }
        st.window.commit(p.counter());
        return new Result(new Opened(sender, m), null);
    }

    /** Tests: moves the sending counter towards the rekey limit. */
    synchronized void sendCounterForTest(NodeKey peer, long counter) {
        PeerState st = state(peer);
        if (st.sendSession == null) {
            newSendSession(peer, st);
        }
        st.sendCounter = counter;
    }

    /** Forgets a peer's sessions (both directions start afresh). */
    public synchronized void forget(NodeKey peer) {
        peers.remove(peer);
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
        byte[] session = new byte[DiscoLimits.SESSION_LENGTH];
        for (int i = 0; i < 8; i++) {
            session[i] = (byte) (now >>> (56 - 8 * i));
        }
        byte[] rnd = new byte[8];
        random.nextBytes(rnd);
        System.arraycopy(rnd, 0, session, 8, 8);
        st.sendSession = session;
        st.sendKey = DiscoKeys.boxKey(st.shared, session, self, peer);
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
