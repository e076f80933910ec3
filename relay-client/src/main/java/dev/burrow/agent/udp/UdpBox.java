package dev.burrow.agent.udp;

import dev.burrow.agent.disco.DiscoKeys;
import dev.burrow.agent.disco.ReplayWindow;
import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.generators.HKDFBytesGenerator;
import org.bouncycastle.crypto.params.HKDFParameters;

/**
 * Seals and opens UDP-service packets between this node and its peers, end to end between the two
 * node keys: the same construction as disco's box ({@code DiscoBox}, key agreement from
 * {@link DiscoKeys}) with its own HKDF label {@code burrow-udp-v1}, so a disco key never opens a
 * UDP packet or the other way round.
 *
 * <p>Sending: one session per peer (16 bytes: start time in ms, strictly increasing in this
 * process, and 8 random bytes), a counter from 0 as the ChaCha20-Poly1305 nonce; a new session
 * before {@link UdpLimits#REKEY_AFTER_MESSAGES}. Receiving, cheapest first, with no state change on
 * any failure: framing and limits; the sender is valid and not us (and, through the relay, the
 * relay's authenticated source, checked by the caller); a session older than the sender's current
 * one is dropped; the counter passes the replay window; the box opens (the whole header is the
 * AAD, so nothing in it can be changed); only then does the window or the current session move.
 *
 * <p>Thread-safe (synchronized).
 */
public final class UdpBox {
    static final byte[] LABEL = "burrow-udp-v1".getBytes(StandardCharsets.US_ASCII);
    private static final String CIPHER = "ChaCha20-Poly1305";

    /** A packet that opened: who sealed it (proven), in which of its sessions, and what. */
    public record Opened(NodeKey sender, byte[] session, UdpMessage message) {}

    /** The outcome of {@link #open}: exactly one of opened and dropped is set. */
    public record Result(Opened opened, UdpDropReason dropped) {
        static Result drop(UdpDropReason r) {
            return new Result(null, r);
        }
    }

    private final NodeKey self;
    private final byte[] selfX25519;
    private final SecureRandom random = new SecureRandom();
    private final Map<NodeKey, PeerState> peers = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<NodeKey, PeerState> e) {
            return size() > UdpLimits.MAX_PEERS;
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

    public UdpBox(NodeIdentity identity) {
        this.self = identity.nodeKey();
        this.selfX25519 = DiscoKeys.x25519Private(identity.privateKey());
    }

    public NodeKey self() {
        return self;
    }

    /** Our current sending session to {@code peer} (started when absent). */
    public synchronized byte[] sendSession(NodeKey peer) {
        PeerState st = state(peer);
        if (st == null) {
            throw new IllegalArgumentException("not a usable peer key: " + peer.shortId());
        }
        if (st.sendSession == null) {
            newSendSession(peer, st);
        }
        return st.sendSession.clone();
    }

    /** Seals {@code message} for {@code peer}; the returned buffer is the whole packet. */
    public synchronized ByteBuf seal(NodeKey peer, UdpMessage message, ByteBufAllocator alloc) {
        PeerState st = state(peer);
        if (st == null) {
            throw new IllegalArgumentException("not a usable peer key: " + peer.shortId());
        }
        if (st.sendSession == null || st.sendCounter >= UdpLimits.REKEY_AFTER_MESSAGES) {
            newSendSession(peer, st);
        }
        long counter = st.sendCounter++;
        byte[] header = UdpCodec.header(self, st.sendSession, counter);
        byte[] plain = UdpCodec.encodeMessage(message);
        ByteBuf out = alloc.buffer(header.length + plain.length + UdpLimits.TAG_LENGTH);
        try {
            Cipher c = sealCipher == null ? (sealCipher = Cipher.getInstance(CIPHER)) : sealCipher;
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(st.sendKey, "ChaCha20"), new IvParameterSpec(nonce(counter)));
            c.updateAAD(header);
            byte[] sealed = c.doFinal(plain);
            out.writeBytes(header).writeBytes(sealed);
            return out;
        } catch (GeneralSecurityException e) {
            out.release();
            throw new IllegalStateException("ChaCha20-Poly1305 unavailable", e);
        }
    }

    /** Opens a received packet (not consumed, not released). */
    public synchronized Result open(ByteBuf datagram) {
        UdpPacket p;
        try {
            p = UdpCodec.decodePacket(datagram);
        } catch (UdpDecodeException e) {
            return Result.drop(UdpDropReason.MALFORMED);
        }
        NodeKey sender = p.sender();
        if (sender.equals(self)) {
            return Result.drop(UdpDropReason.UNKNOWN_SENDER);
        }
        PeerState st = state(sender);
        if (st == null) {
            return Result.drop(UdpDropReason.UNKNOWN_SENDER);
        }
        byte[] session = p.session();
        boolean current = st.recvSession != null && Arrays.equals(session, st.recvSession);
        if (!current
                && st.recvSession != null
                && Long.compareUnsigned(p.sessionStartMillis(), startMillis(st.recvSession)) <= 0) {
            return Result.drop(UdpDropReason.STALE_SESSION);
        }
        if (p.counter() < 0) {
            return Result.drop(UdpDropReason.MALFORMED);
        }
        if (current && !st.window.check(p.counter())) {
            return Result.drop(UdpDropReason.REPLAYED);
        }
        byte[] key = current ? st.recvKey : boxKey(st.shared, session, sender, self);
        byte[] plain;
        try {
            Cipher c = openCipher == null ? (openCipher = Cipher.getInstance(CIPHER)) : openCipher;
            c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, "ChaCha20"), new IvParameterSpec(nonce(p.counter())));
            c.updateAAD(UdpCodec.header(sender, session, p.counter()));
            plain = c.doFinal(p.sealed());
        } catch (GeneralSecurityException e) {
            return Result.drop(UdpDropReason.UNDECRYPTABLE);
        }
        UdpMessage m;
        try {
            m = UdpCodec.decodeMessage(plain);
        } catch (UdpDecodeException | IllegalArgumentException e) {
            return Result.drop(UdpDropReason.MALFORMED);
        }
        if (!current) {
            st.recvSession = session;
            st.recvKey = key;
            st.window = new ReplayWindow();
        }
        st.window.commit(p.counter());
        return new Result(new Opened(sender, session, m), null);
    }

    /** Forgets a peer's sessions (both directions start afresh). */
    public synchronized void forget(NodeKey peer) {
        peers.remove(peer);
    }

    /** The box key for one direction and one sender session (HKDF-SHA256, label {@code burrow-udp-v1}). */
    static byte[] boxKey(byte[] shared, byte[] session, NodeKey sender, NodeKey receiver) {
        byte[] info = new byte[LABEL.length + 1 + 2 * NodeKey.LENGTH];
        System.arraycopy(LABEL, 0, info, 0, LABEL.length);
        sender.copyTo(info, LABEL.length + 1);
        receiver.copyTo(info, LABEL.length + 1 + NodeKey.LENGTH);
        HKDFBytesGenerator hkdf = new HKDFBytesGenerator(new SHA256Digest());
        hkdf.init(new HKDFParameters(shared, session, info));
        byte[] key = new byte[DiscoKeys.KEY_LENGTH];
        hkdf.generateBytes(key, 0, key.length);
        return key;
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
        byte[] session = new byte[UdpLimits.SESSION_LENGTH];
        for (int i = 0; i < 8; i++) {
            session[i] = (byte) (now >>> (56 - 8 * i));
        }
        byte[] rnd = new byte[8];
        random.nextBytes(rnd);
        System.arraycopy(rnd, 0, session, 8, 8);
        st.sendSession = session;
        st.sendKey = boxKey(st.shared, session, self, peer);
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
