package dev.burrow.agent.udp;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.agent.disco.DiscoBox;
import dev.burrow.agent.disco.DiscoDropReason;
import dev.burrow.agent.disco.DiscoMessage;
import dev.burrow.agent.disco.SealedBox;
import dev.burrow.identity.NodeIdentity;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import org.junit.jupiter.api.Test;

/** Disco and UDP services share one sealed box with two formats: neither opens the other's packets. */
class SealedBoxFormatsTest {
    final NodeIdentity alice = NodeIdentity.ephemeral("alice");
    final NodeIdentity bob = NodeIdentity.ephemeral("bob");

    @Test
    void everyFailureOfTheSharedBoxIsADropReasonOfBothFormats() {
        for (SealedBox.Failure f : SealedBox.Failure.values()) {
            assertThat(UdpDropReason.valueOf(f.name())).isNotNull();
            assertThat(DiscoDropReason.valueOf(f.name())).isNotNull();
        }
    }

    @Test
    void aUdpPacketDoesNotOpenAsDiscoNorTheOtherWayRound() {
        UdpBox udpA = new UdpBox(alice);
        UdpBox udpB = new UdpBox(bob);
        DiscoBox discoA = new DiscoBox(alice, k -> true);
        DiscoBox discoB = new DiscoBox(bob, k -> true);
        ByteBuf udp = udpA.seal(bob.nodeKey(), new UdpMessage.Data(7, new byte[] {1, 2}), ByteBufAllocator.DEFAULT);
        ByteBuf disco = discoA.seal(bob.nodeKey(), new DiscoMessage.Ping(new byte[12], 0), ByteBufAllocator.DEFAULT);
        try {
            assertThat(discoB.open(udp).dropped()).isEqualTo(DiscoDropReason.MALFORMED); // another magic
            assertThat(udpB.open(disco).dropped()).isEqualTo(UdpDropReason.MALFORMED);
            assertThat(udpB.open(udp).opened().message()).isEqualTo(new UdpMessage.Data(7, new byte[] {1, 2}));
            assertThat(discoB.open(disco).opened().sender()).isEqualTo(alice.nodeKey());
        } finally {
            udp.release();
            disco.release();
        }
    }
}
