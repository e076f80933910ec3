package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.Set;
import java.util.concurrent.CompletionStage;

/**
 * Adapters from the identity module's {@link Admission} policies (open, allow-list, CA, webhook) to
 * the relay's {@link ClientAdmission}, which adds whether a certificate is required up front.
 */
public final class Admissions {
    private Admissions() {}

    /** Wraps an identity-module policy. */
    public static ClientAdmission of(Admission policy, boolean requiresCertificate) {
        return new ClientAdmission() {
            @Override
            public CompletionStage<Decision> admit(NodeKey key, VerifiedPeer peer) {
                return policy.decide(key, peer)
                        .handle((d, err) -> err != null || d == null
                                ? Decision.deny("admission error")
                                : new Decision(d.allowed(), d.allowed() ? "" : d.reason()));
            }

            @Override
            public boolean requiresCertificate() {
                return requiresCertificate;
            }

            @Override
            public String describe() {
                return policy.describe();
            }
        };
    }

    /** Anyone with a valid key proof (development only). */
    public static ClientAdmission open() {
        return of(Admission.open(), false);
    }

    /** Exactly the listed node keys. */
    public static ClientAdmission allowList(Set<NodeKey> allowed) {
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException("the allow-list is empty: no node could connect");
        }
        return of(new AllowListAdmission(allowed), false);
    }

    /** Certificates issued by a configured fleet CA, carrying every required tag. */
    public static ClientAdmission caIssued(Set<String> requiredTags) {
        return of(new CaAdmission(requiredTags), true);
    }
}
