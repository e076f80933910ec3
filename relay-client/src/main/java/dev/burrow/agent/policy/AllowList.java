package dev.burrow.agent.policy;

import dev.burrow.identity.VerifiedPeer;
import java.util.List;

/**
 * The peers admitted to one service: any matching rule admits. An empty list admits nobody
 * (exposing to "everyone" is not a default anyone should get by accident).
 */
public record AllowList(List<AllowRule> rules) {
    public AllowList {
        rules = List.copyOf(rules);
    }

    public static AllowList parse(List<String> texts) {
        return new AllowList(texts.stream().map(AllowRule::parse).toList());
    }

    public boolean admits(VerifiedPeer peer) {
        for (AllowRule r : rules) {
            if (r.matches(peer)) {
                return true;
            }
        }
        return false;
    }

    public List<String> texts() {
        return rules.stream().map(AllowRule::text).toList();
    }
}
