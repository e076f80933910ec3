package dev.burrow.identity;

import java.math.BigInteger;
import java.time.Instant;
import java.util.Set;

/**
 * A peer whose certificate {@link NodeVerifier} accepted.
 *
 * @param nodeKey the authenticated node key (the TLS handshake or auth proof showed possession)
 * @param name the name, only when {@code caIssued} (a self-signed certificate's name is never trusted); else null
 * @param tags the tags, only when {@code caIssued}; else empty
 * @param notAfter when the certificate expires
 * @param caIssued true when a configured fleet CA issued the certificate
 * @param serial the certificate serial number
 */
public record VerifiedPeer(
        NodeKey nodeKey, String name, Set<String> tags, Instant notAfter, boolean caIssued, BigInteger serial) {
    public VerifiedPeer {
        tags = Set.copyOf(tags);
        if (!caIssued && (name != null || !tags.isEmpty())) {
            throw new IllegalArgumentException("only a CA-issued certificate carries a name and tags");
        }
    }

    /** The name when trusted, else the short node ID: for logs and tables. */
    public String displayName() {
        return name != null ? name : nodeKey.shortId();
    }
}
