package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;

class NodeKeyTest {
    private static NodeKey random(long seed) {
        byte[] b = new byte[32];
        new Random(seed).nextBytes(b);
        return NodeKey.of(b);
    }

    @Test
    void roundTripsThroughText() {
        for (long seed = 0; seed < 200; seed++) {
            NodeKey k = random(seed);
            String id = k.nodeId();
            assertThat(id).hasSize(NodeKey.TEXT_LENGTH).matches("[a-z2-7]+");
            assertThat(NodeKey.parse(id)).isEqualTo(k);
            assertThat(NodeKey.parse(id).bytes()).isEqualTo(k.bytes());
            assertThat(k.shortId()).isEqualTo(id.substring(0, NodeKey.SHORT_LENGTH));
        }
    }

    @Test
    void parseIsCaseInsensitiveAndTrims() {
        NodeKey k = random(1);
        assertThat(NodeKey.parse("  " + k.nodeId().toUpperCase(Locale.ROOT) + "\n"))
                .isEqualTo(k);
    }

    @Test
    void typoIsCaughtByChecksum() {
        NodeKey k = random(2);
        String id = k.nodeId();
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            char other = c == 'a' ? 'b' : 'a';
            String typo = id.substring(0, i) + other + id.substring(i + 1);
            assertThatThrownBy(() -> NodeKey.parse(typo))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("checksum");
        }
        // transposition of two different neighbours
        int i = 0;
        while (id.charAt(i) == id.charAt(i + 1)) {
            i++;
        }
        String swapped = id.substring(0, i) + id.charAt(i + 1) + id.charAt(i) + id.substring(i + 2);
        assertThatThrownBy(() -> NodeKey.parse(swapped)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void wrongLengthIsRefused() {
        String id = random(3).nodeId();
        assertThatThrownBy(() -> NodeKey.parse(id.substring(1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("characters");
        assertThatThrownBy(() -> NodeKey.parse(id + "a")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeKey.parse("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeKey.parse(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeKey.of(new byte[31])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeKey.of(new byte[33])).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> NodeKey.of(null)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void badCharactersAreRefused() {
        String id = random(4).nodeId();
        for (char bad : new char[] {'0', '1', '8', '9', '=', '-', '_', 'é'}) {
            String s = bad + id.substring(1);
            assertThatThrownBy(() -> NodeKey.parse(s))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("a-z and 2-7");
        }
    }

    @Test
    void bytesAreDefensiveCopies() {
        byte[] raw = new byte[32];
        NodeKey k = NodeKey.of(raw);
        raw[0] = 1;
        assertThat(k.bytes()[0]).isZero();
        k.bytes()[1] = 1;
        assertThat(k.bytes()[1]).isZero();
    }

    @Test
    void equalityAndOrdering() {
        NodeKey a = random(5);
        NodeKey b = NodeKey.of(a.bytes());
        assertThat(a).isEqualTo(b).hasSameHashCodeAs(b);
        assertThat(a.compareTo(b)).isZero();
        assertThat(a).isNotEqualTo(random(6));
        assertThat(a.toString()).isEqualTo(a.nodeId());
    }
}
