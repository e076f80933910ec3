package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CertificateProfileTest {
    @Test
    void names() {
        assertThat(CertificateProfile.isValidName("alice")).isTrue();
        assertThat(CertificateProfile.isValidName("a")).isTrue();
        assertThat(CertificateProfile.isValidName("web-01")).isTrue();
        assertThat(CertificateProfile.isValidName("a".repeat(63))).isTrue();
        for (String bad :
                new String[] {"", "a".repeat(64), "-a", "a-", "Alice", "a b", "a.b", "a_b", "ä", "a\n", null}) {
            assertThat(CertificateProfile.isValidName(bad))
                    .as(String.valueOf(bad))
                    .isFalse();
        }
        assertThatThrownBy(() -> CertificateProfile.requireValidName("Bad Name"))
                .hasMessageContaining("a-z");
    }

    @Test
    void tags() {
        assertThat(CertificateProfile.requireValidTags(List.of("prod", "dev", "dev", "team.a_b-c")))
                .containsExactly("dev", "prod", "team.a_b-c");
        assertThatThrownBy(() -> CertificateProfile.requireValidTags(List.of("UPPER")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CertificateProfile.requireValidTags(List.of(".x")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CertificateProfile.requireValidTags(List.of("a:b")))
                .isInstanceOf(IllegalArgumentException.class);
        List<String> many = new ArrayList<>();
        for (int i = 0; i <= CertificateProfile.MAX_TAGS; i++) {
            many.add("t" + i);
        }
        assertThatThrownBy(() -> CertificateProfile.requireValidTags(many)).hasMessageContaining("too many");
        assertThat(CertificateProfile.requireValidTags(null)).isEqualTo(Set.of());
    }

    @Test
    void sanitizesHostNames() {
        assertThat(CertificateProfile.sanitizeName("My_Laptop.local", "node")).isEqualTo("my-laptop");
        assertThat(CertificateProfile.sanitizeName("---", "node")).isEqualTo("node");
        assertThat(CertificateProfile.sanitizeName(null, "node")).isEqualTo("node");
    }
}
