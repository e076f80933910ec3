package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** PCP MAP (RFC 6887 sections 7.1, 7.2, 11.1): golden bytes against the RFC layout, round trips, refusals. */
class PcpCodecTest {
    static final HexFormat HEX = HexFormat.of();
    static final PcpNonce NONCE = new PcpNonce(HEX.parseHex("000102030405060708090a0b"));

    static Inet4Address v4(String s) throws Exception {
        return (Inet4Address) InetAddress.getByName(s);
    }

    static final String REQUEST_HEX = "02" + "01" + "0000" // version 2, R=0 MAP, reserved
            + "00001c20" // requested lifetime 7200 s
            + "00000000000000000000ffff0a01000a" // client ::ffff:10.1.0.10
            + "000102030405060708090a0b" // nonce
            + "11" + "000000" // UDP, reserved
            + "a2a9" + "a2a9" // internal 41641, suggested external 41641
            + "00000000000000000000ffff00000000"; // no preferred external address

    static final String RESPONSE_HEX = "02" + "81" + "00" + "00" // version, R=1 MAP, reserved, SUCCESS
            + "00000e10" // lifetime 3600 s
            + "0000002a" // epoch 42
            + "000000000000000000000000" // reserved
            + "000102030405060708090a0b" // nonce
            + "11" + "000000" + "a2a9" + "9c40" // UDP, internal 41641, assigned external 40000
            + "00000000000000000000ffffcb00710a"; // ::ffff:203.0.113.10

    PcpCodec.MapRequest request() throws Exception {
        return new PcpCodec.MapRequest(7200, v4("10.1.0.10"), NONCE, PcpCodec.PROTOCOL_UDP, 41641, 41641, null);
    }

    PcpCodec.MapResponse response(int result, long lifetime) throws Exception {
        return new PcpCodec.MapResponse(
                result, lifetime, 42, NONCE, PcpCodec.PROTOCOL_UDP, 41641, 40000, v4("203.0.113.10"));
    }

    @Test
    void mapRequestMatchesTheRfcLayout() throws Exception {
        byte[] b = PcpCodec.encode(request());
        assertThat(b).hasSize(PcpCodec.MAP_LENGTH);
        assertThat(HEX.formatHex(b)).isEqualTo(REQUEST_HEX);
    }

    @Test
    void mapResponseDecodesFromTheRfcLayout() throws Exception {
        byte[] b = HEX.parseHex(RESPONSE_HEX);
        var d = PcpCodec.decodeResponse(b, b.length);
        assertThat(d).isEqualTo(new Decoded.Ok<>(response(0, 3600)));
        assertThat(HEX.formatHex(PcpCodec.encode(response(0, 3600)))).isEqualTo(RESPONSE_HEX);
    }

    @Test
    void requestsAndResponsesRoundTrip() throws Exception {
        var q = new PcpCodec.MapRequest(0, v4("192.168.1.7"), PcpNonce.random(), 17, 1, 65535, v4("198.51.100.9"));
        byte[] b = PcpCodec.encode(q);
        assertThat(PcpCodec.decodeRequest(b, b.length)).isEqualTo(new Decoded.Ok<>(q));
        var r = new PcpCodec.MapResponse(8, 4294967295L, 4294967295L, PcpNonce.random(), 17, 65535, 1, v4("1.2.3.4"));
        byte[] rb = PcpCodec.encode(r);
        assertThat(PcpCodec.decodeResponse(rb, rb.length)).isEqualTo(new Decoded.Ok<>(r));
    }

    @Test
    void responsesWithOptionsAreAcceptedUpToTheLimit() throws Exception {
        byte[] b = java.util.Arrays.copyOf(HEX.parseHex(RESPONSE_HEX), PcpCodec.MAX_MESSAGE);
        assertThat(PcpCodec.decodeResponse(b, b.length)).isInstanceOf(Decoded.Ok.class);
    }

    @Test
    void badLayoutsAreRefusedWithTheirReason() {
        byte[] ok = HEX.parseHex(RESPONSE_HEX);
        assertRefused(PcpCodec.decodeResponse(ok, 59), Refusal.SIZE);
        assertRefused(PcpCodec.decodeResponse(java.util.Arrays.copyOf(ok, 62), 62), Refusal.SIZE);
        assertRefused(PcpCodec.decodeResponse(new byte[1104], 1104), Refusal.VERSION);
        byte[] tooLong = java.util.Arrays.copyOf(ok, 1104);
        assertRefused(PcpCodec.decodeResponse(tooLong, 1104), Refusal.SIZE);
        byte[] natPmp = ok.clone();
        natPmp[0] = 0;
        var v = PcpCodec.decodeResponse(natPmp, natPmp.length);
        assertRefused(v, Refusal.VERSION);
        assertThat(((Decoded.Refused<?>) v).reason()).contains("NAT-PMP only");
        byte[] request = ok.clone();
        request[1] = 0x01; // R bit clear: a request, not a response
        assertRefused(PcpCodec.decodeResponse(request, request.length), Refusal.OPCODE);
        byte[] announce = ok.clone();
        announce[1] = (byte) 0x80; // ANNOUNCE response
        assertRefused(PcpCodec.decodeResponse(announce, announce.length), Refusal.OPCODE);
    }

    @Test
    void answersThatAreNotOursOrNotUsableAreRefused() throws Exception {
        var q = request();
        assertThat(PcpCodec.check(q, response(0, 3600))).isInstanceOf(Decoded.Ok.class);
        var otherNonce = new PcpCodec.MapResponse(0, 3600, 42, PcpNonce.random(), 17, 41641, 40000, v4("203.0.113.10"));
        assertRefused(PcpCodec.check(q, otherNonce), Refusal.NONCE);
        var otherPort = new PcpCodec.MapResponse(0, 3600, 42, NONCE, 17, 5000, 40000, v4("203.0.113.10"));
        assertRefused(PcpCodec.check(q, otherPort), Refusal.MAPPING);
        var refused = PcpCodec.check(q, response(2, 0));
        assertRefused(refused, Refusal.RESULT_CODE);
        assertThat(((Decoded.Refused<?>) refused).reason()).contains("NOT_AUTHORIZED");
        assertRefused(PcpCodec.check(q, response(0, 0)), Refusal.UNUSABLE);
        var v6 = new PcpCodec.MapResponse(0, 3600, 42, NONCE, 17, 41641, 40000, InetAddress.getByName("2001:db8::1"));
        assertRefused(PcpCodec.check(q, v6), Refusal.UNUSABLE);
        // A deletion (lifetime 0) is confirmed by a zero lifetime.
        var delete = new PcpCodec.MapRequest(0, v4("10.1.0.10"), NONCE, 17, 41641, 40000, null);
        assertThat(PcpCodec.check(delete, response(0, 0))).isInstanceOf(Decoded.Ok.class);
    }

    @Test
    void announceMatchesTheRfcLayout() throws Exception {
        // version 2, R=0 opcode 0 (ANNOUNCE), reserved, lifetime 0, client ::ffff:10.1.0.10
        assertThat(HEX.formatHex(PcpCodec.encodeAnnounce(v4("10.1.0.10"))))
                .isEqualTo("02" + "00" + "0000" + "00000000" + "00000000000000000000ffff0a01000a");
        byte[] answer = HEX.parseHex("02" + "80" + "00" + "00" + "00000000" + "0000002a" + "000000000000000000000000");
        assertThat(PcpCodec.decodeAnnounceResponse(answer, answer.length))
                .isEqualTo(new Decoded.Ok<>(new PcpCodec.AnnounceResponse(0, 42)));
        assertThat(PcpCodec.encode(new PcpCodec.AnnounceResponse(0, 42))).isEqualTo(answer);
        byte[] refused = answer.clone();
        refused[3] = 2;
        assertRefused(PcpCodec.decodeAnnounceResponse(refused, refused.length), Refusal.RESULT_CODE);
        assertRefused(PcpCodec.decodeAnnounceResponse(answer, 20), Refusal.SIZE);
        byte[] map = HEX.parseHex(RESPONSE_HEX);
        assertRefused(PcpCodec.decodeAnnounceResponse(map, map.length), Refusal.OPCODE);
        assertRefused(
                PcpCodec.decodeAnnounceResponse(new byte[] {0, (byte) 0x80, 0, 1, 0, 0, 0, 0}, 8), Refusal.VERSION);
    }

    static void assertRefused(Decoded<?> d, Refusal r) {
        assertThat(d).isInstanceOf(Decoded.Refused.class);
        assertThat(((Decoded.Refused<?>) d).refusal()).isEqualTo(r);
        assertThat(((Decoded.Refused<?>) d).reason()).isNotBlank();
    }
}
