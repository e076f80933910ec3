package dev.burrow.agent.caller;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * Arbitrary text as a whois address (it comes from the local API's query string): either a literal
 * address with a port in 1-65535 that formats and parses back to itself, or an
 * IllegalArgumentException; never a name lookup, never another exception. Seeds in
 * {@code WhoisAddressFuzzTestInputs/}.
 */
class WhoisAddressFuzzTest {
    @FuzzTest(maxDuration = "20s")
    void parseNeverThrowsAnythingElse(byte[] input) {
        String text = new String(input, StandardCharsets.UTF_8);
        InetSocketAddress a;
        try {
            a = WhoisTable.parseAddress(text);
        } catch (IllegalArgumentException expected) {
            return;
        }
        assertThat(a.isUnresolved()).isFalse();
        assertThat(a.getPort()).isBetween(1, 65535);
        assertThat(WhoisTable.text(WhoisTable.parseAddress(WhoisTable.text(a)))).isEqualTo(WhoisTable.text(a));
    }
}
