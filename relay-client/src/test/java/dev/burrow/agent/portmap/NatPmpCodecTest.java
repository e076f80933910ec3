package dev.burrow.agent.portmap;

import static dev.burrow.agent.portmap.PcpCodecTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** NAT-PMP (RFC 6886 sections 3.2, 3.3): golden bytes against the RFC layout, round trips, refusals. */
class NatPmpCodecTest {
    static final HexFormat HEX = HexFormat.of();

    @Test
    void requestsMatchTheRfcLayout() {
        assertThat(HEX.formatHex(NatPmpCodec.encodeAddressRequest())).isEqualTo("0000");
        var q = new NatPmpCodec.MapRequest(NatPmpCodec.OPCODE_MAP_UDP, 41641, 41641, 7200);
        // version 0, opcode 1 (UDP), reserved, internal port, suggested external port, lifetime
        assertThat(HEX.formatHex(NatPmpCodec.encode(q))).isEqualTo("00" + "01" + "0000" + "a2a9" + "a2a9" + "00001c20");
    }

    @Test
    void responsesDecodeFromTheRfcLayout() throws Exception {
        byte[] addr = HEX.parseHex("00" + "80" + "0000" + "0000002a" + "cb00710a");
        assertThat(NatPmpCodec.decodeAddressResponse(addr, addr.length))
                .isEqualTo(new Decoded.Ok<>(
                        new NatPmpCodec.AddressResponse(0, 42, (Inet4Address) InetAddress.getByName("203.0.113.10"))));
        byte[] map = HEX.parseHex("00" + "81" + "0000" + "0000002a" + "a2a9" + "9c40" + "00000e10");
        assertThat(NatPmpCodec.decodeMapResponse(map, map.length))
                .isEqualTo(new Decoded.Ok<>(new NatPmpCodec.MapResponse(1, 0, 42, 41641, 40000, 3600)));
    }

    @Test
    void everyMessageRoundTrips() throws Exception {
        var q = new NatPmpCodec.MapRequest(1, 65535, 0, 4294967295L);
        byte[] qb = NatPmpCodec.encode(q);
        assertThat(NatPmpCodec.decodeMapRequest(qb, qb.length)).isEqualTo(new Decoded.Ok<>(q));
        var r = new NatPmpCodec.MapResponse(1, 0, 4294967295L, 1, 65535, 7200);
        byte[] rb = NatPmpCodec.encode(r);
        assertThat(NatPmpCodec.decodeMapResponse(rb, rb.length)).isEqualTo(new Decoded.Ok<>(r));
        var a = new NatPmpCodec.AddressResponse(0, 7, (Inet4Address) InetAddress.getByName("198.51.100.1"));
        byte[] ab = NatPmpCodec.encode(a);
        assertThat(NatPmpCodec.decodeAddressResponse(ab, ab.length)).isEqualTo(new Decoded.Ok<>(a));
    }

    @Test
    void badResponsesAreRefusedWithTheirReason() {
        byte[] map = HEX.parseHex("0081" + "0000" + "0000002a" + "a2a9" + "9c40" + "00000e10");
        assertRefused(NatPmpCodec.decodeMapResponse(map, 15), Refusal.SIZE);
        assertRefused(NatPmpCodec.decodeMapResponse(new byte[17], 17), Refusal.SIZE);
        assertRefused(NatPmpCodec.decodeMapResponse(map, 7), Refusal.SIZE);
        byte[] pcp = map.clone();
        pcp[0] = 2;
        assertRefused(NatPmpCodec.decodeMapResponse(pcp, pcp.length), Refusal.VERSION);
        byte[] tcp = map.clone();
        tcp[1] = (byte) 0x82; // the answer to a TCP mapping
        assertRefused(NatPmpCodec.decodeMapResponse(tcp, tcp.length), Refusal.OPCODE);
        assertRefused(NatPmpCodec.decodeAddressResponse(map, 12), Refusal.OPCODE);
        // An error may come as the bare 8-byte header; it is refused with the result code's name.
        byte[] error = HEX.parseHex("0081" + "0003" + "0000002a");
        var d = NatPmpCodec.decodeMapResponse(error, error.length);
        assertRefused(d, Refusal.RESULT_CODE);
        assertThat(((Decoded.Refused<?>) d).reason()).contains("NETWORK_FAILURE");
    }

    @Test
    void mappingsThatAreNotOursOrNotUsableAreRefused() {
        var q = new NatPmpCodec.MapRequest(1, 41641, 41641, 7200);
        assertThat(NatPmpCodec.check(q, new NatPmpCodec.MapResponse(1, 0, 1, 41641, 40000, 7200)))
                .isInstanceOf(Decoded.Ok.class);
        assertRefused(NatPmpCodec.check(q, new NatPmpCodec.MapResponse(1, 0, 1, 41642, 40000, 7200)), Refusal.MAPPING);
        assertRefused(NatPmpCodec.check(q, new NatPmpCodec.MapResponse(1, 0, 1, 41641, 0, 7200)), Refusal.UNUSABLE);
        assertRefused(NatPmpCodec.check(q, new NatPmpCodec.MapResponse(1, 0, 1, 41641, 40000, 0)), Refusal.UNUSABLE);
        var delete = new NatPmpCodec.MapRequest(1, 41641, 0, 0);
        assertThat(NatPmpCodec.check(delete, new NatPmpCodec.MapResponse(1, 0, 1, 41641, 0, 0)))
                .isInstanceOf(Decoded.Ok.class);
    }
}
