package dev.burrow.agent.udp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

/** The box against a relay that replays, modifies or splices packets. */
class UdpBoxTest {
    final NodeIdentity alice = NodeIdentity.ephemeral("alice");
    final NodeIdentity bob = NodeIdentity.ephemeral("bob");
    final NodeIdentity mallory = NodeIdentity.ephemeral("mallory");
    final UdpBox a = new UdpBox(alice);
    final UdpBox b = new UdpBox(bob);

    private ByteBuf seal(UdpBox box, NodeIdentity to, UdpMessage m) {
        return box.seal(to.nodeKey(), m, ByteBufAllocator.DEFAULT);
    }

    @Test
    void opensWhatItSealsAndNamesTheSenderAndSession() {
        ByteBuf p = seal(a, bob, new UdpMessage.Data(42, new byte[] {1, 2, 3}));
        try {
            UdpBox.Result r = b.open(p);
            assertThat(r.dropped()).isNull();
            assertThat(r.opened().sender()).isEqualTo(alice.nodeKey());
            assertThat(r.opened().session()).isEqualTo(a.sendSession(bob.nodeKey()));
            assertThat(r.opened().message()).isEqualTo(new UdpMessage.Data(42, new byte[] {1, 2, 3}));
            assertThat(p.readerIndex()).isZero();
        } finally {
            p.release();
        }
    }

    @Test
    void replayedPacketsAreDropped() {
        ByteBuf p = seal(a, bob, new UdpMessage.Data(1, new byte[10]));
        try {
            assertThat(b.open(p).opened()).isNotNull();
            assertThat(b.open(p).dropped()).isEqualTo(UdpDropReason.REPLAYED);
        } finally {
            p.release();
        }
    }

    @Test
    void everyModifiedByteIsDetected() {
        ByteBuf p = seal(a, bob, new UdpMessage.Data(1, new byte[8]));
        try {
            for (int i = 5; i < p.readableBytes(); i++) { // after magic and version: key, session, counter, box
                ByteBuf t = p.copy();
                t.setByte(i, t.getByte(i) ^ 0x01);
                UdpBox fresh = new UdpBox(bob);
                UdpBox.Result r = fresh.open(t);
                t.release();
                assertThat(r.opened()).as("byte %d flipped", i).isNull();
            }
            assertThat(b.open(p).opened()).isNotNull(); // the original still opens
        } finally {
            p.release();
        }
    }

    @Test
    void aPacketForSomeoneElseDoesNotOpen() {
        ByteBuf p = seal(a, mallory, new UdpMessage.Data(1, new byte[8]));
        try {
            assertThat(b.open(p).dropped()).isEqualTo(UdpDropReason.UNDECRYPTABLE);
        } finally {
            p.release();
        }
    }

    @Test
    void anOlderSessionCannotComeBack() {
        UdpBox aliceBefore = new UdpBox(alice);
        ByteBuf old = seal(aliceBefore, bob, new UdpMessage.Data(1, new byte[1]));
        ByteBuf oldNext = seal(aliceBefore, bob, new UdpMessage.Data(1, new byte[1]));
        try {
            Thread.sleep(2); // a restarted process starts its session in a later millisecond
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        ByteBuf fresh = seal(new UdpBox(alice), bob, new UdpMessage.Data(1, new byte[2])); // alice restarted
        try {
            assertThat(b.open(old).opened()).isNotNull();
            assertThat(b.open(fresh).opened()).isNotNull();
            assertThat(b.open(oldNext).dropped()).isEqualTo(UdpDropReason.STALE_SESSION);
        } finally {
            old.release();
            oldNext.release();
            fresh.release();
        }
    }

    @Test
    void aDiscoKeyDoesNotOpenUdpPackets() {
        // the labels differ: the same node pair derives different keys for disco and UDP
        byte[] shared = new byte[32];
        byte[] session = new byte[16];
        assertThat(UdpBox.boxKey(shared, session, alice.nodeKey(), bob.nodeKey()))
                .isNotEqualTo(dev.burrow.agent.disco.DiscoKeys.boxKey(shared, session, alice.nodeKey(), bob.nodeKey()));
    }

    @Test
    void ownPacketsAndGarbageAreDropped() {
        ByteBuf p = seal(a, bob, new UdpMessage.Data(1, new byte[1]));
        try {
            assertThat(a.open(p).dropped()).isEqualTo(UdpDropReason.UNKNOWN_SENDER);
        } finally {
            p.release();
        }
        assertThat(b.open(io.netty.buffer.Unpooled.wrappedBuffer(new byte[3])).dropped())
                .isEqualTo(UdpDropReason.MALFORMED);
    }
}
