package dev.burrow.agent.udp;

import dev.burrow.agent.disco.DiscoKeys;
import dev.burrow.agent.disco.SealedBox;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Seals and opens UDP-service packets between this node and its peers, end to end between the two
 * node keys: disco's construction ({@link SealedBox}, key agreement from {@link DiscoKeys}) with the
 * UDP format: its own HKDF label {@code burrow-udp-v1} (so a disco key never opens a UDP packet or
 * the other way round), the header of {@link UdpCodec} (magic {@code 8B 75 64 70} first) and its
 * messages. Sessions, rekeying before {@link UdpLimits#REKEY_AFTER_MESSAGES}, the replay window and
 * the order of the receiving checks are {@link SealedBox}'s; the relay's authenticated source is
 * checked against the sealed sender by the caller.
 *
 * <p>Thread-safe (synchronized).
 */
public final class UdpBox {
    static final byte[] LABEL = "burrow-udp-v1".getBytes(StandardCharsets.US_ASCII);

    /** The UDP services' wire format for the shared box. */
    static final SealedBox.Format<UdpMessage> FORMAT = new SealedBox.Format<>(
            LABEL,
            UdpLimits.SESSION_LENGTH,
            UdpLimits.REKEY_AFTER_MESSAGES,
            UdpLimits.MAX_PEERS,
            UdpCodec::header,
            UdpCodec::decodePacket,
            UdpCodec::encodeMessage,
            UdpCodec::decodeMessage);

    /** A packet that opened: who sealed it (proven), in which of its sessions, and what. */
    public record Opened(NodeKey sender, byte[] session, UdpMessage message) {}

    /** The outcome of {@link #open}: exactly one of opened and dropped is set. */
    public record Result(Opened opened, UdpDropReason dropped) {
        static Result drop(UdpDropReason r) {
            return new Result(null, r);
        }
    }

    private final SealedBox<UdpMessage> box;

    public UdpBox(NodeIdentity identity) {
        this.box = new SealedBox<>(identity, k -> true, FORMAT);
    }

    public NodeKey self() {
        return box.self();
    }

    /** Our current sending session to {@code peer} (started when absent). */
    public byte[] sendSession(NodeKey peer) {
        return box.sendSession(peer);
    }

    /** Seals {@code message} for {@code peer}; the returned buffer is the whole packet. */
    public ByteBuf seal(NodeKey peer, UdpMessage message, ByteBufAllocator alloc) {
        return box.seal(peer, message, alloc);
    }

    /** Opens a received packet (not consumed, not released). */
    public Result open(ByteBuf datagram) {
        SealedBox.Result<UdpMessage> r = box.open(datagram);
        if (r.failure() != null) {
            return Result.drop(UdpDropReason.valueOf(r.failure().name())); // the same names
        }
        SealedBox.Opened<UdpMessage> o = r.opened();
        return new Result(new Opened(o.sender(), o.session(), o.message()), null);
    }

    /** Forgets a peer's sessions (both directions start afresh). */
    public void forget(NodeKey peer) {
        box.forget(peer);
    }

    /** The box key for one direction and one sender session (HKDF-SHA256, label {@code burrow-udp-v1}). */
    static byte[] boxKey(byte[] shared, byte[] session, NodeKey sender, NodeKey receiver) {
        return DiscoKeys.boxKey(LABEL, shared, session, sender, receiver);
    }
}
