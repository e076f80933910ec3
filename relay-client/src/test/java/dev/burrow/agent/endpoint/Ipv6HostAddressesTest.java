package dev.burrow.agent.endpoint;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Which IPv6 addresses of this host are announced as direct-path candidates. */
class Ipv6HostAddressesTest {
    private static Inet6Address v6(String s) throws Exception {
        return (Inet6Address) InetAddress.getByName(s);
    }

    @Test
    void onlyGlobalUnicastCountsAndUlaOnlyWhenAllowed() throws Exception {
        assertThat(Ipv6HostAddresses.skipReason(v6("2001:db8:1::10"), 0x80, false))
                .isEmpty();
        assertThat(Ipv6HostAddresses.skipReason(v6("2a01:4f8::1"), 0, false)).isEmpty();
        assertThat(Ipv6HostAddresses.skipReason(v6("fe80::1"), 0x80, false)).contains("link-local");
        assertThat(Ipv6HostAddresses.skipReason(v6("::1"), 0x80, false)).isPresent();
        assertThat(Ipv6HostAddresses.skipReason(v6("ff02::1"), 0, false)).contains("multicast");
        assertThat(Ipv6HostAddresses.skipReason(v6("fd00::2"), 0x80, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("unique local"));
        assertThat(Ipv6HostAddresses.skipReason(v6("fd00::2"), 0x80, true)).isEmpty();
        assertThat(Ipv6HostAddresses.skipReason(v6("2002:cb00:7101::1"), 0, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("6to4"));
        assertThat(Ipv6HostAddresses.skipReason(v6("2001:0:4136:e378::1"), 0, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("Teredo"));
        assertThat(Ipv6HostAddresses.skipReason(v6("fec0::1"), 0, false)).isPresent(); // old site-local
    }

    @Test
    void deprecatedTentativeAndFailedAddressesAreSkipped() throws Exception {
        Inet6Address a = v6("2001:db8:1::10");
        assertThat(Ipv6HostAddresses.skipReason(a, 0x20, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("deprecated"));
        assertThat(Ipv6HostAddresses.skipReason(a, 0x40, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("tentative"));
        assertThat(Ipv6HostAddresses.skipReason(a, 0x08, false))
                .hasValueSatisfying(r -> assertThat(r).startsWith("duplicate"));
        assertThat(Ipv6HostAddresses.skipReason(a, 0x82, false))
                .as("permanent, nodad")
                .isEmpty();
    }

    @Test
    void stableAddressesComeBeforeTemporaryOnesAndTheCountIsCapped() throws Exception {
        Map<Inet6Address, Integer> in = new LinkedHashMap<>();
        in.put(v6("2001:db8:1::aaaa"), 0x01); // temporary
        in.put(v6("fe80::1"), 0x80);
        in.put(v6("2001:db8:1::10"), 0x80);
        in.put(v6("2001:db8:1::bad"), 0x20); // deprecated
        for (int i = 1; i <= 6; i++) {
            in.put(v6("2001:db8:2::" + i), 0x80);
        }
        var out = Ipv6HostAddresses.select(in, false);
        assertThat(out).hasSize(Ipv6HostAddresses.MAX_ADDRESSES);
        assertThat(out.get(0)).isEqualTo(v6("2001:db8:1::10"));
        assertThat(out).doesNotContain(v6("fe80::1"), v6("2001:db8:1::bad"));

        Map<Inet6Address, Integer> few = new LinkedHashMap<>();
        few.put(v6("2001:db8:1::aaaa"), 0x01);
        few.put(v6("2001:db8:1::10"), 0x80);
        assertThat(Ipv6HostAddresses.select(few, false)).containsExactly(v6("2001:db8:1::10"), v6("2001:db8:1::aaaa"));
    }

    @Test
    void parsesProcNetIfInet6AndSkipsGarbage() throws Exception {
        String text = "00000000000000000000000000000001 01 80 10 80       lo\n"
                + "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n"
                + "20010db8000100000000000000000010 04 40 00 82     eth0\n"
                + "20010db80001000000000000deadbeef 04 40 00 21     eth0\n"
                + "not an address line\n"
                + "zz010db8000100000000000000000010 04 40 00 82     eth0\n";
        Map<Inet6Address, Integer> flags = Ipv6HostAddresses.parseIfInet6(text);
        assertThat(flags)
                .containsEntry(v6("2001:db8:1::10"), 0x82)
                .containsEntry(v6("2001:db8:1::dead:beef"), 0x21)
                .containsEntry(v6("::1"), 0x80)
                .hasSize(4);
        assertThat(Ipv6HostAddresses.select(flags, false)).containsExactly(v6("2001:db8:1::10"));
    }
}
