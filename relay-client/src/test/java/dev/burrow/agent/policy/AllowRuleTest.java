package dev.burrow.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.testing.TestIdentities;
import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class AllowRuleTest {
    static final NodeKey BOB = TestIdentities.randomNodeKey();
    static final NodeKey EVE = TestIdentities.randomNodeKey();

    static VerifiedPeer caIssued(NodeKey k, String name, String... tags) {
        return new VerifiedPeer(k, name, Set.of(tags), Instant.now().plusSeconds(3600), true, BigInteger.ONE);
    }

    static VerifiedPeer selfSigned(NodeKey k) {
        return new VerifiedPeer(k, null, Set.of(), Instant.now().plusSeconds(3600), false, BigInteger.ONE);
    }

    @Test
    void parsesEveryForm() {
        assertThat(AllowRule.parse("name:bob")).isEqualTo(new AllowRule.Name("bob"));
        assertThat(AllowRule.parse("tag:dev")).isEqualTo(new AllowRule.Tag("dev"));
        assertThat(AllowRule.parse("node:" + BOB.nodeId())).isEqualTo(new AllowRule.Node(BOB));
        assertThat(AllowRule.parse(BOB.nodeId().toUpperCase())).isEqualTo(new AllowRule.Node(BOB));
        assertThat(AllowRule.parse("name:bob").text()).isEqualTo("name:bob");
    }

    @Test
    void rejectsMalformedRules() {
        for (String bad : List.of("", "name:", "group:x", "bob", "node:abc", "tag:a b")) {
            assertThatThrownBy(() -> AllowRule.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void namesAndTagsCountOnlyFromCaIssuedCertificates() {
        AllowList allow = AllowList.parse(List.of("name:bob", "tag:dev"));
        assertThat(allow.admits(caIssued(BOB, "bob"))).isTrue();
        assertThat(allow.admits(caIssued(EVE, "eve", "dev"))).isTrue();
        assertThat(allow.admits(caIssued(EVE, "eve", "prod"))).isFalse();
        // A self-signed certificate never carries a trusted name (VerifiedPeer refuses to hold one).
        assertThat(allow.admits(selfSigned(BOB))).isFalse();
    }

    @Test
    void nodeRulesMatchTheVerifiedKeyWhateverTheCertificate() {
        AllowList allow = AllowList.parse(List.of("node:" + BOB.nodeId()));
        assertThat(allow.admits(selfSigned(BOB))).isTrue();
        assertThat(allow.admits(caIssued(BOB, "bob"))).isTrue();
        assertThat(allow.admits(selfSigned(EVE))).isFalse();
        assertThat(allow.admits(caIssued(EVE, "bob"))).isFalse(); // the name does not make EVE into BOB
    }

    @Test
    void anEmptyListAdmitsNobody() {
        assertThat(new AllowList(List.of()).admits(caIssued(BOB, "bob"))).isFalse();
    }
}
