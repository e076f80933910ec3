package dev.burrow.agent.udp;

import dev.burrow.agent.disco.SealedBox;
import dev.burrow.identity.NodeKey;
import java.util.Arrays;

/**
 * One sealed UDP-service packet as framed on the wire (the payload of a relay keyed datagram, or a
 * QUIC datagram on the direct path):
 *
 * <pre>
 * magic[4] = 8B 75 64 70 | version u8 = 1 | sender key[32] | session[16] | counter u64 | sealed...
 * session = start time u64 (ms since the epoch) | random[8]
 * sealed  = ChaCha20-Poly1305(message), AAD = the 61 header bytes, tag[16] at the end
 * key     = HKDF-SHA256(X25519(node keys), salt = session, info = "burrow-udp-v1" 0x00 sender receiver)
 * </pre>
 */
public record UdpPacket(NodeKey sender, byte[] session, long counter, byte[] sealed) implements SealedBox.Packet {
    public UdpPacket {
        if (session.length != UdpLimits.SESSION_LENGTH) {
            throw new IllegalArgumentException("session IDs are " + UdpLimits.SESSION_LENGTH + " bytes");
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
        return o instanceof UdpPacket p
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
        return "UdpPacket[" + sender.shortId() + ", #" + counter + ", " + sealed.length + " bytes]";
    }
}
