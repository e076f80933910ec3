package dev.burrow.agent.disco;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.function.Predicate;

/**
 * Seals and opens disco packets between this node and its peers: end-to-end authenticated and
 * encrypted between the two node keys (see {@link DiscoKeys}), replay-protected. The construction,
 * the session and rekey rules and the order of the receiving checks are {@link SealedBox}'s, with
 * disco's format: label {@code burrow-disco-v1}, the header of {@link DiscoCodec} (magic first) and
 * its messages.
 *
 * <p>Thread-safe (synchronized: disco is a few packets per second per peer).
 */
public final class DiscoBox {
    /** Peers with key state; beyond this the least recently used is forgotten (bounded memory). */
    public static final int MAX_PEERS = 4096;

    /** Disco's wire format for the shared box. */
    static final SealedBox.Format<DiscoMessage> FORMAT = new SealedBox.Format<>(
            DiscoKeys.LABEL,
            DiscoLimits.SESSION_LENGTH,
            DiscoLimits.REKEY_AFTER_MESSAGES,
            MAX_PEERS,
            DiscoCodec::header,
            DiscoCodec::decodePacket,
            DiscoCodec::encodeMessage,
            DiscoCodec::decodeMessage);

    /** A packet that opened: who sent it (proven by the box) and what. */
    public record Opened(NodeKey sender, DiscoMessage message) {}

    /** The outcome of {@link #open}: exactly one of opened and dropped is set. */
    public record Result(Opened opened, DiscoDropReason dropped) {
        static Result drop(DiscoDropReason r) {
            return new Result(null, r);
        }
    }

    private final SealedBox<DiscoMessage> box;

    /**
     * @param identity this node
     * @param accepts which senders we talk to at all (others are dropped before any crypto)
     */
    public DiscoBox(NodeIdentity identity, Predicate<NodeKey> accepts) {
        this.box = new SealedBox<>(identity, accepts, FORMAT);
    }

    public NodeKey self() {
        return box.self();
    }

    /** Seals {@code message} for {@code peer}; the returned buffer is the whole datagram. */
    public ByteBuf seal(NodeKey peer, DiscoMessage message, ByteBufAllocator alloc) {
        return box.seal(peer, message, alloc);
    }

    /** Opens a received datagram (not consumed, not released). */
    public Result open(ByteBuf datagram) {
        SealedBox.Result<DiscoMessage> r = box.open(datagram);
        if (r.failure() != null) {
            return Result.drop(DiscoDropReason.valueOf(r.failure().name())); // the same names
        }
        return new Result(new Opened(r.opened().sender(), r.opened().message()), null);
    }

    /** Tests: moves the sending counter towards the rekey limit. */
    void sendCounterForTest(NodeKey peer, long counter) {
        box.sendCounterForTest(peer, counter);
    }

    /** Forgets a peer's sessions (both directions start afresh). */
    public void forget(NodeKey peer) {
        box.forget(peer);
    }
}
