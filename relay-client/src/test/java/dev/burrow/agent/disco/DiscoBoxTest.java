package dev.burrow.agent.disco;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.net.InetSocketAddress;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** unknown or malformed disco messages, nonce reuse and replay, handshake replay for the disco box. */
class DiscoBoxTest {
    private static final UnpooledByteBufAllocator ALLOC = new UnpooledByteBufAllocator(false);
    private final NodeIdentity a = NodeIdentity.ephemeral("a");
    private final NodeIdentity b = NodeIdentity.ephemeral("b");
    private final NodeIdentity mallory = NodeIdentity.ephemeral("mallory");
    private final DiscoBox boxA = new DiscoBox(a, k -> true);
    private final DiscoBox boxB = new DiscoBox(b, k -> k.equals(a.nodeKey()));

    private static DiscoMessage ping() {
        return new DiscoMessage.Ping(new byte[12], 0);
    }

    private static byte[] bytes(ByteBuf b) {
        byte[] out = new byte[b.readableBytes()];
        b.getBytes(b.readerIndex(), out);
        b.release();
        return out;
    }

    private static DiscoBox.Result open(DiscoBox box, byte[] packet) {
        return box.open(Unpooled.wrappedBuffer(packet));
    }

    @Test
    void bothSidesDeriveTheSameKeysAndMessagesArrive() {
        DiscoMessage m = new DiscoMessage.CallMeMaybe(List.of(new InetSocketAddress("203.0.113.10", 4000)));
        DiscoBox.Result r = open(boxB, bytes(boxA.seal(b.nodeKey(), m, ALLOC)));
        assertThat(r.dropped()).isNull();
        assertThat(r.opened().sender()).isEqualTo(a.nodeKey());
        assertThat(r.opened().message()).isEqualTo(m);
        DiscoBox.Result back = open(boxA, bytes(boxB.seal(a.nodeKey(), ping(), ALLOC)));
        assertThat(back.opened().message()).isEqualTo(ping());
    }

    @Test
    void pongIsSmallerThanThreeTimesThePing() {
        int ping = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC)).length;
        int pong = bytes(boxB.seal(
                        a.nodeKey(),
                        new DiscoMessage.Pong(new byte[12], new InetSocketAddress("2001:db8::1", 9)),
                        ALLOC))
                .length;
        assertThat(pong).isLessThanOrEqualTo(3 * ping);
    }

    /** unknown or malformed disco messages: an unknown sender is dropped before any crypto, and so is our own key. */
    @Test
    void unknownSenderIsDropped() {
        DiscoBox boxM = new DiscoBox(mallory, k -> true);
        assertThat(open(boxB, bytes(boxM.seal(b.nodeKey(), ping(), ALLOC))).dropped())
                .isEqualTo(DiscoDropReason.UNKNOWN_SENDER);
        DiscoBox boxB2 = new DiscoBox(b, k -> true);
        assertThat(open(boxB2, bytes(boxB2.seal(a.nodeKey(), ping(), ALLOC))).dropped())
                .isEqualTo(DiscoDropReason.UNKNOWN_SENDER);
    }

    /** unknown or malformed disco messages: a box sealed by another key while claiming to be a, a flipped byte anywhere, a box for someone else. */
    @Test
    void undecryptableIsDropped() {
        byte[] good = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        for (int i : new int[] {5, 40, 55, DiscoLimits.HEADER_LENGTH, good.length - 1}) {
            byte[] bad = good.clone();
            bad[i] ^= 1;
            DiscoBox.Result r = open(boxB, bad);
            assertThat(r.opened()).as("flip at %d", i).isNull();
        }
        // mallory forges a's header: the box does not open
        DiscoBox boxM = new DiscoBox(mallory, k -> true);
        byte[] forged = bytes(boxM.seal(b.nodeKey(), ping(), ALLOC));
        a.nodeKey().copyTo(forged, 5);
        assertThat(open(boxB, forged).dropped()).isEqualTo(DiscoDropReason.UNDECRYPTABLE);
        // a box a sealed for mallory does not open at b
        DiscoBox boxB3 = new DiscoBox(b, k -> true);
        assertThat(open(boxB3, bytes(boxA.seal(mallory.nodeKey(), ping(), ALLOC)))
                        .dropped())
                .isEqualTo(DiscoDropReason.UNDECRYPTABLE);
        // and nothing moved: the genuine packet still opens
        assertThat(open(boxB, good).opened()).isNotNull();
    }

    /** nonce reuse and replay: replay rejected; out of order within the window accepted once; too old rejected. */
    @Test
    void replayProtection() {
        byte[] first = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        byte[] second = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        assertThat(open(boxB, second).opened()).isNotNull();
        assertThat(open(boxB, first).opened()).isNotNull(); // out of order, within the window
        assertThat(open(boxB, first).dropped()).isEqualTo(DiscoDropReason.REPLAYED);
        assertThat(open(boxB, second).dropped()).isEqualTo(DiscoDropReason.REPLAYED);
        byte[] old = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        byte[] last = null;
        for (int i = 0; i < DiscoLimits.REPLAY_WINDOW + 1; i++) {
            last = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        }
        assertThat(open(boxB, last).opened()).isNotNull();
        assertThat(open(boxB, old).dropped()).isEqualTo(DiscoDropReason.REPLAYED);
    }

    /** nonce reuse and replay: counter nonces never repeat over 2^20 packets. */
    @Test
    void noNonceRepeats() throws Exception {
        Set<Long> counters = new HashSet<>();
        byte[] session = null;
        for (int i = 0; i < 1 << 20; i++) {
            ByteBuf p = boxA.seal(b.nodeKey(), ping(), ALLOC);
            DiscoPacket d = DiscoCodec.decodePacket(p);
            p.release();
            assertThat(counters.add(d.counter())).isTrue();
            if (session == null) {
                session = d.session();
            }
            assertThat(d.session()).isEqualTo(session);
        }
    }

    /** nonce reuse and replay: the session is replaced before its counter reaches the limit; it never wraps. */
    @Test
    void rekeysBeforeTheCounterLimit() throws Exception {
        boxA.sendCounterForTest(b.nodeKey(), DiscoLimits.REKEY_AFTER_MESSAGES - 1);
        DiscoPacket last =
                DiscoCodec.decodePacket(Unpooled.wrappedBuffer(bytes(boxA.seal(b.nodeKey(), ping(), ALLOC))));
        DiscoPacket next =
                DiscoCodec.decodePacket(Unpooled.wrappedBuffer(bytes(boxA.seal(b.nodeKey(), ping(), ALLOC))));
        assertThat(last.counter()).isEqualTo(DiscoLimits.REKEY_AFTER_MESSAGES - 1);
        assertThat(next.counter()).isZero();
        assertThat(next.session()).isNotEqualTo(last.session());
        assertThat(next.sessionStartMillis()).isGreaterThan(last.sessionStartMillis());
        assertThat(open(boxB, DiscoCodec.encodePacket(next, ALLOC).array()).opened())
                .isNotNull();
    }

    /**
     * handshake replay: a restarted sender (new session) is accepted once a packet of it authenticates; a replayed
     * packet of the older session is then ignored, and so is a forged newer session.
     */
    @Test
    void olderSessionsAreIgnored() {
        byte[] oldSession = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        byte[] oldSession2 = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        assertThat(open(boxB, oldSession).opened()).isNotNull();
        // a restart takes more than the millisecond that orders sessions; a test can be faster
        long sealedAt = System.currentTimeMillis();
        while (System.currentTimeMillis() <= sealedAt) {
            Thread.onSpinWait();
        }
        DiscoBox restartedA = new DiscoBox(a, k -> true);
        byte[] fresh = bytes(restartedA.seal(b.nodeKey(), ping(), ALLOC));
        // a forged packet with a newer session does not move the current session
        byte[] forged = fresh.clone();
        forged[forged.length - 1] ^= 1;
        assertThat(open(boxB, forged).dropped()).isEqualTo(DiscoDropReason.UNDECRYPTABLE);
        assertThat(open(boxB, oldSession2).opened()).isNotNull();
        assertThat(open(boxB, fresh).opened()).isNotNull();
        byte[] old3 = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        assertThat(open(boxB, old3).dropped()).isEqualTo(DiscoDropReason.STALE_SESSION);
    }

    @Test
    void malformedIsDropped() {
        assertThat(open(boxB, new byte[10]).dropped()).isEqualTo(DiscoDropReason.MALFORMED);
        byte[] p = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        p[4] = 9;
        assertThat(open(boxB, p).dropped()).isEqualTo(DiscoDropReason.MALFORMED);
        NodeKey invalid = NodeKey.of(new byte[32]);
        byte[] q = bytes(boxA.seal(b.nodeKey(), ping(), ALLOC));
        invalid.copyTo(q, 5);
        assertThat(new DiscoBox(b, k -> true).open(Unpooled.wrappedBuffer(q)).dropped())
                .isEqualTo(DiscoDropReason.UNKNOWN_SENDER);
    }
}
