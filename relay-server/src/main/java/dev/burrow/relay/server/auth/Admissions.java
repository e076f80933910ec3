package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/** The simple admission modes. */
public final class Admissions {
    private Admissions() {}

    /** Anyone with a valid key proof (development only). */
    public static ClientAdmission open() {
        return new ClientAdmission() {
            @Override
            public CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peer) {
                return Decision.ALLOW.done();
            }

            @Override
            public String describe() {
                return "open (any node with a valid key: development only)";
            }
        };
    }

    /** Exactly the listed node keys. */
    public static ClientAdmission allowList(Set<NodeKey> allowed) {
        Set<NodeKey> copy = Set.copyOf(allowed);
        if (copy.isEmpty()) {
            throw new IllegalArgumentException("the allow-list is empty: no node could connect");
        }
        return new ClientAdmission() {
            @Override
            public CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peer) {
                return (copy.contains(key) ? Decision.ALLOW : Decision.deny("node is not on the allow-list")).done();
            }

            @Override
            public String describe() {
                return "allow-list (" + copy.size() + " nodes)";
            }
        };
    }

    /** Certificates issued by a configured fleet CA, carrying every required tag. */
    public static ClientAdmission caIssued(Set<String> requiredTags) {
        Set<String> tags = Set.copyOf(requiredTags);
        return new ClientAdmission() {
            @Override
            public CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peer) {
                if (peer == null || !peer.caIssued()) {
                    return Decision.deny("a certificate issued by the fleet CA is required").done();
                }
                if (!peer.tags().containsAll(tags)) {
                    return Decision.deny("certificate lacks a required tag").done();
                }
                return Decision.ALLOW.done();
            }

            @Override
            public boolean requiresCertificate() {
                return true;
            }

            @Override
            public String describe() {
                return "ca" + (tags.isEmpty() ? "" : " (required tags " + tags + ")");
            }
        };
    }
}
