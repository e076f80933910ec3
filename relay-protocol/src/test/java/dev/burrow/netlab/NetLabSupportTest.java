package dev.burrow.netlab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.netlab.NetLabSupport.Decision;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The skip-locally, fail-in-CI rule, checked without root. */
class NetLabSupportTest {
    private static final Optional<String> MISSING = Optional.of("not root (uid 1000)");

    @Test
    void runsWhenTheLabIsAvailableWhateverTheEnvironment() {
        assertThat(NetLabSupport.decide(Map.of(), Optional.empty())).isEqualTo(Decision.RUN);
        assertThat(NetLabSupport.decide(Map.of("CI", "true"), Optional.empty())).isEqualTo(Decision.RUN);
    }

    @Test
    void skipsLocallyWhenUnavailable() {
        assertThat(NetLabSupport.decide(Map.of(), MISSING)).isEqualTo(Decision.SKIP);
        assertThat(NetLabSupport.decide(Map.of("CI", "false"), MISSING)).isEqualTo(Decision.SKIP);
        assertThat(NetLabSupport.decide(Map.of("CI", ""), MISSING)).isEqualTo(Decision.SKIP);
    }

    @Test
    void failsInCiWhenUnavailable() {
        assertThat(NetLabSupport.decide(Map.of("CI", "true"), MISSING)).isEqualTo(Decision.FAIL);
        assertThat(NetLabSupport.decide(Map.of("CI", "TRUE "), MISSING)).isEqualTo(Decision.FAIL);
    }

    @Test
    void skipIsAnAbortedTestAndFailIsAFailureBothCarryingTheReason() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> NetLabSupport.enforce(Decision.SKIP, "NAT lab unavailable: not root"))
                .isInstanceOf(org.opentest4j.TestAbortedException.class)
                .hasMessageContaining("not root");
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () -> NetLabSupport.enforce(Decision.FAIL, "NAT lab unavailable: not root"))
                .isInstanceOf(org.opentest4j.AssertionFailedError.class)
                .hasMessageContaining("not root")
                .hasMessageContaining("CI=true");
        NetLabSupport.enforce(Decision.RUN, "");
    }

    @Test
    void theProbeExplainsItself() {
        LabCapabilities caps = LabCapabilities.get();
        assertThat(caps.notes()).isNotEmpty();
        caps.missing().ifPresent(reason -> assertThat(reason).isNotBlank());
    }
}
