package dev.burrow.agent.caller;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class WhoisTableTest {
    static Caller caller(String local) {
        return new Caller(
                local,
                "node",
                null,
                List.of(),
                false,
                "db",
                "relay",
                "127.0.0.1:1",
                "100.64.0.1",
                "2026-11-22T00:00:00Z");
    }

    @Test
    void registerLookupAndRemoveExactlyThatEntry() {
        WhoisTable t = new WhoisTable();
        InetSocketAddress a = WhoisTable.parseAddress("127.0.0.1:40000");
        WhoisTable.Registration r = t.register(a, caller("127.0.0.1:40000"));
        assertThat(t.lookup(WhoisTable.parseAddress("127.0.0.1:40000"))).isPresent();
        assertThat(t.lookup(WhoisTable.parseAddress("[::ffff:127.0.0.1]:40000")))
                .isPresent(); // same socket
        assertThat(t.lookup(WhoisTable.parseAddress("127.0.0.1:40001"))).isEmpty();
        // the port was reused by a newer connection: closing the old registration keeps the new entry
        Caller newer = caller("127.0.0.1:40000");
        WhoisTable.Registration r2 = t.register(a, newer);
        r.close();
        assertThat(t.lookup(a)).containsSame(newer);
        r2.close();
        r2.close();
        assertThat(t.size()).isZero();
    }

    @Test
    void fullTableRecordsNothingAndCounts() {
        java.util.concurrent.atomic.AtomicInteger metric = new java.util.concurrent.atomic.AtomicInteger();
        WhoisTable t = new WhoisTable(metric::incrementAndGet);
        for (int i = 0; i < WhoisTable.MAX_ENTRIES; i++) {
            t.register(WhoisTable.parseAddress("127.0." + (i >>> 8) + "." + (i & 0xff) + ":1"), caller("x"));
        }
        assertThat(t.size()).isEqualTo(WhoisTable.MAX_ENTRIES);
        WhoisTable.Registration none = t.register(WhoisTable.parseAddress("10.0.0.1:1"), caller("x"));
        none.close();
        assertThat(t.overflows()).isEqualTo(1);
        assertThat(metric).hasValue(1);
        assertThat(t.lookup(WhoisTable.parseAddress("10.0.0.1:1"))).isEmpty();
    }

    @Test
    void addressesAreLiteralsOnly() {
        assertThat(WhoisTable.text(WhoisTable.parseAddress("[::1]:5"))).isEqualTo("[0:0:0:0:0:0:0:1]:5");
        for (String bad : List.of(
                "localhost:80",
                "127.0.0.1",
                "127.0.0.1:0",
                "127.0.0.1:65536",
                "::1:80",
                "1.2.3.4.5:1",
                ":80",
                "example.com:443",
                "[::1]:x")) {
            assertThatThrownBy(() -> WhoisTable.parseAddress(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
    }
}
