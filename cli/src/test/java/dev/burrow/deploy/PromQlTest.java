package dev.burrow.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The metric-name extraction RelayMonitoringTest relies on. */
class PromQlTest {
    @Test
    void findsSelectedMetricsButNotFunctionsLabelsOrKeywords() {
        assertThat(
                        PromQl.metricNames(
                                "sum by (pod, instance) (rate(burrow_relay_drops_total{job=~\"$job\",reason=~\"queue_full|gone\"}[$__rate_interval]))"))
                .containsExactly("burrow_relay_drops_total");
        assertThat(PromQl.metricNames("histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket{a=\"b\"}[5m])))"))
                .containsExactly("x_seconds_bucket");
        assertThat(PromQl.metricNames(
                        "a{x=\"rate(y)\"} < on() group_left() (count(up{j=\"k\"} == 1) - 1) and bool b offset 5m"))
                .containsExactly("a", "up", "b");
        assertThat(PromQl.metricNames("count(m == 1) or vector(0)")).containsExactly("m");
        assertThat(PromQl.metricNames("1e3 * 0.8 > foo:recorded:rate5m")).containsExactly("foo:recorded:rate5m");
    }

    @Test
    void histogramSuffixes() {
        assertThat(PromQl.baseName("x_seconds_bucket")).isEqualTo("x_seconds");
        assertThat(PromQl.baseName("x_seconds_count")).isEqualTo("x_seconds");
        assertThat(PromQl.baseName("x_total")).isEqualTo("x_total");
    }
}
