package dev.burrow.relay.server.auth;

import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Admits nodes with a certificate from a configured fleet CA (as judged by {@code NodeVerifier})
 * carrying every required tag. A self-signed certificate, or none, is denied.
 */
public final class CaAdmission implements Admission {
    private final Set<String> requiredTags;

    public CaAdmission(Set<String> requiredTags) {
        this.requiredTags = CertificateProfile.requireValidTags(requiredTags);
    }

    @Override
    public CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peer) {
        Decision d;
        if (peer == null || !peer.caIssued()) {
            d = Decision.deny("a fleet CA certificate is required");
        } else if (!peer.nodeKey().equals(nodeKey)) {
            d = Decision.deny("certificate is for another node");
        } else if (!peer.tags().containsAll(requiredTags)) {
            d = Decision.deny("missing a required tag");
        } else {
            d = Decision.allow("fleet CA certificate");
        }
        return CompletableFuture.completedFuture(d);
    }

    @Override
    public String describe() {
        return "fleet CA" + (requiredTags.isEmpty() ? "" : " with tags " + requiredTags);
    }
}
