package dev.burrow.agent.disco;

import dev.burrow.identity.NodeKey;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * One sealed disco packet as framed on the wire (direct UDP, or the payload of a relay keyed
 * datagram):
 *
 * <pre>
 * magic[4] = 8B 64 73 63 | version u8 = 1 | sender key[32] | session[16] | counter u64 | sealed box...
 * session = start time u64 (ms since the epoch) | random[8]
 * sealed  = ChaCha20-Poly1305(plaintext), AAD = the 61 header bytes, tag[16] at the end
 * </pre>
 *
 * @param sender the sending node's Ed25519 key (who claims to have sealed it; proven only by the box opening)
 * @param session the sender's session ID (selects the key; orders sessions)
 * @param counter the nonce counter within the session
 * @param sealed ciphertext and tag
 */
public record DiscoPacket(NodeKey sender, byte[] session, long counter, byte[] sealed) implements SealedBox.Packet {
    public DiscoPacket {
        if (session.length != DiscoLimits.SESSION_LENGTH) {
            throw new IllegalArgumentException("session IDs are " + DiscoLimits.SESSION_LENGTH + " bytes");
        }
        session = session.clone();
        sealed = sealed.clone();
    }

    @Override
    public byte[] session() {
        return session.clone();
    }

    @Override
    public byte[] sealed() {
        return sealed.clone();
    }

    /** The session's start time (the first 8 bytes of the session ID, unsigned). */
    public long sessionStartMillis() {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (session[i] & 0xFF);
        }
        return v;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DiscoPacket p
                && sender.equals(p.sender)
                && Arrays.equals(session, p.session)
                && counter == p.counter
                && Arrays.equals(sealed, p.sealed);
    }

    @Override
    public int hashCode() {
        return sender.hashCode() * 31 + Long.hashCode(counter);
    }

    @Override
    public String toString() {
        return "DiscoPacket[" + sender.shortId() + ", session " + HexFormat.of().formatHex(session) + ", #" + counter
                + ", " + sealed.length + " bytes]";
    }
}
