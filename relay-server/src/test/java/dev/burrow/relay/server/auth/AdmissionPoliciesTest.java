package dev.burrow.relay.server.auth;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.testing.TestIdentities;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AdmissionPoliciesTest {
    @TempDir
    Path tmp;

    final NodeKey a = TestIdentities.randomNodeKey();
    final NodeKey b = TestIdentities.randomNodeKey();

    static boolean allowed(Admission adm, NodeKey k, VerifiedPeer p) throws Exception {
        return adm.decide(k, p).get().allowed();
    }

    static VerifiedPeer ca(NodeKey k, String... tags) {
        return new VerifiedPeer(k, "n", Set.of(tags), Instant.now().plusSeconds(60), true, BigInteger.ONE);
    }

    static VerifiedPeer selfSigned(NodeKey k) {
        return new VerifiedPeer(k, null, Set.of(), Instant.now().plusSeconds(60), false, BigInteger.ONE);
    }

    @Test
    void open() throws Exception {
        assertThat(allowed(Admission.open(), a, null)).isTrue();
    }

    @Test
    void allowListFromEachSource() throws Exception {
        Path file = tmp.resolve("allow.txt");
        Files.writeString(file, "# team\n" + b.nodeId() + "  # bob\n\n");
        AllowListAdmission fromFile = AllowListAdmission.fromSources(null, null, null, file);
        assertThat(allowed(fromFile, b, null)).isTrue();
        assertThat(allowed(fromFile, a, null)).isFalse();

        AllowListAdmission fromFlag =
                AllowListAdmission.fromSources(List.of(a.nodeId() + "," + b.nodeId()), null, null, null);
        assertThat(fromFlag.allowed()).containsExactlyInAnyOrder(a, b);
        AllowListAdmission fromEnv =
                AllowListAdmission.fromSources(null, "BURROW_ALLOW", " " + a.nodeId() + "\n", null);
        assertThat(allowed(fromEnv, a, null)).isTrue();
        assertThat(allowed(fromEnv, b, null)).isFalse();
    }

    @Test
    void allowListSourceSetButUnreadableOrEmptyFailsStartup() throws Exception {
        assertThatThrownBy(() -> AllowListAdmission.fromSources(null, null, null, tmp.resolve("missing")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot read");
        Path empty = tmp.resolve("empty");
        Files.writeString(empty, "# nothing\n\n");
        assertThatThrownBy(() -> AllowListAdmission.fromSources(null, null, null, empty))
                .hasMessageContaining("no node IDs");
        assertThatThrownBy(() -> AllowListAdmission.fromSources(List.of(" "), null, null, null))
                .hasMessageContaining("empty");
        assertThatThrownBy(() -> AllowListAdmission.fromSources(null, "BURROW_ALLOW", "", null))
                .hasMessageContaining("BURROW_ALLOW");
        assertThatThrownBy(() -> AllowListAdmission.fromSources(null, null, null, null))
                .isInstanceOf(IllegalArgumentException.class);
        Path typo = tmp.resolve("typo");
        Files.writeString(typo, a.nodeId().substring(1) + "x\n");
        assertThatThrownBy(() -> AllowListAdmission.fromSources(null, null, null, typo))
                .hasMessageContaining("typo:1");
        assertThatThrownBy(() -> new AllowListAdmission(Set.of())).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void caAdmissionNeedsCaIssuedCertificateWithTags() throws Exception {
        CaAdmission adm = new CaAdmission(Set.of("relay-users"));
        assertThat(allowed(adm, a, ca(a, "relay-users", "dev"))).isTrue();
        assertThat(allowed(adm, a, ca(a, "dev"))).isFalse();
        assertThat(allowed(adm, a, selfSigned(a))).isFalse();
        assertThat(allowed(adm, a, null)).isFalse();
        assertThat(allowed(adm, a, ca(b, "relay-users"))).isFalse();
        assertThat(allowed(new CaAdmission(Set.of()), a, ca(a))).isTrue();
    }

    @Test
    void allOfStopsAtFirstDeny() throws Exception {
        Admission both = Admission.allOf(List.of(new CaAdmission(Set.of()), new AllowListAdmission(Set.of(a))));
        assertThat(allowed(both, a, ca(a))).isTrue();
        assertThat(allowed(both, b, ca(b))).isFalse();
        assertThat(allowed(both, a, null)).isFalse();
        assertThat(both.describe()).contains("allow list");
    }
}
