package dev.burrow.protocol.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** Golden tests of the one duration grammar (relay and agent configuration, environment, command line). */
class DurationsTest {
    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({
        "500ms, PT0.5S",
        "0ms, PT0S",
        "0s, PT0S",
        "3s, PT3S",
        "' 3s ', PT3S",
        "3S, PT3S",
        "90s, PT1M30S",
        "5m, PT5M",
        "1h, PT1H",
        "2d, PT48H",
        "7D, PT168H",
        "999999999ms, PT277H46M39.999S",
        "PT1H, PT1H",
        "pt30m, PT30M",
        "P7D, PT168H",
    })
    void parsesTheGrammar(String text, String iso) {
        assertThat(Durations.parse(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest(name = "{0} is refused")
    @ValueSource(
            strings = {
                "",
                " ",
                "3",
                "30",
                "off",
                "s",
                "ms",
                "-1s",
                "1.5s",
                "1 s",
                "1sec",
                "1w",
                "1y",
                "3ss",
                "1000000000s",
                "1h30m",
                "PT-1H",
                "P",
                "abc",
                "0x10s",
                "١s"
            })
    void refusesEverythingElseWithTheExamples(String text) {
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("expected a duration like 500ms, 3s, 5m, 1h or 2d, got '" + text.strip() + "'");
    }

    @ParameterizedTest(name = "{0} = {1}")
    @CsvSource({"off, PT0S", "OFF, PT0S", "0, PT0S", "0s, PT0S", "250ms, PT0.25S", "1d, PT24H"})
    void offIsZeroWhereASettingCanBeSwitchedOff(String text, String iso) {
        assertThat(Durations.parseOrOff(text)).isEqualTo(Duration.parse(iso));
    }

    @ParameterizedTest
    @ValueSource(strings = {"of", "none", "-", "3"})
    void parseOrOffNamesOffInItsError(String text) {
        assertThatThrownBy(() -> Durations.parseOrOff(text))
                .hasMessage("expected a duration like 500ms, 3s, 5m, 1h or 2d, or off, got '" + text + "'");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "PT0S, 0s",
        "PT0.5S, 500ms",
        "PT1.5S, 1500ms",
        "PT90S, 90s",
        "PT5M, 5m",
        "PT1H, 1h",
        "PT48H, 2d",
        "PT25H, 25h"
    })
    void formatsShortestAndRoundTrips(String iso, String text) {
        Duration d = Duration.parse(iso);
        assertThat(Durations.format(d)).isEqualTo(text);
        assertThat(Durations.parse(Durations.format(d))).isEqualTo(d);
    }

    @org.junit.jupiter.api.Test
    void aLongInputIsCutInTheMessage() {
        String longText = "9".repeat(200) + "s";
        assertThatThrownBy(() -> Durations.parse(longText))
                .hasMessageEndingWith("...'")
                .hasMessageContaining("9".repeat(64));
    }
}
