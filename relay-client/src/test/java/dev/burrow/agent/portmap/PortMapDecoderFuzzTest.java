package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;

/**
 * Arbitrary datagrams into every port-mapping decoder: each returns a value or a refusal with a
 * reason, never throws; what decodes re-encodes to the bytes it came from (the fixed-size layouts;
 * PCP responses may carry options beyond the first 60 bytes). Seeds in
 * {@code PortMapDecoderFuzzTestInputs/}.
 */
class PortMapDecoderFuzzTest {
    @FuzzTest(maxDuration = "10s")
    void pcpResponseDecoderNeverThrows(byte[] input) {
        Decoded<PcpCodec.MapResponse> d = PcpCodec.decodeResponse(input, input.length);
        if (d instanceof Decoded.Ok<PcpCodec.MapResponse> ok) {
            byte[] again = PcpCodec.encode(ok.value());
            // Reserved bytes are not kept: compare what the decoder read.
            assertThat(PcpCodec.decodeResponse(again, again.length)).isEqualTo(d);
        } else {
            assertThat(((Decoded.Refused<?>) d).reason()).isNotBlank();
        }
    }

    @FuzzTest(maxDuration = "10s")
    void pcpAnnounceDecoderNeverThrows(byte[] input) {
        Decoded<PcpCodec.AnnounceResponse> d = PcpCodec.decodeAnnounceResponse(input, input.length);
        if (d instanceof Decoded.Ok<PcpCodec.AnnounceResponse> ok) {
            byte[] again = PcpCodec.encode(ok.value());
            assertThat(PcpCodec.decodeAnnounceResponse(again, again.length)).isEqualTo(d);
        } else {
            assertThat(((Decoded.Refused<?>) d).reason()).isNotBlank();
        }
    }

    @FuzzTest(maxDuration = "10s")
    void pcpRequestDecoderNeverThrows(byte[] input) {
        Decoded<PcpCodec.MapRequest> d = PcpCodec.decodeRequest(input, input.length);
        if (d instanceof Decoded.Ok<PcpCodec.MapRequest> ok) {
            byte[] again = PcpCodec.encode(ok.value());
            assertThat(PcpCodec.decodeRequest(again, again.length)).isEqualTo(d);
        }
    }

    @FuzzTest(maxDuration = "10s")
    void upnpDecodersNeverThrow(byte[] input) {
        for (Decoded<?> d : List.of(
                UpnpCodec.decodeSsdpResponse(input, input.length),
                UpnpCodec.decodeDescription(input, input.length, URI.create("http://10.1.0.1:5000/d.xml")),
                UpnpCodec.decodeSoapResponse(200, input, input.length, "GetExternalIPAddress"),
                UpnpCodec.decodeSoapResponse(500, input, input.length, "AddPortMapping"))) {
            if (d instanceof Decoded.Refused<?> no) {
                assertThat(no.reason()).isNotBlank();
            }
        }
        UpnpCodec.upnpErrorCode(new String(input, StandardCharsets.ISO_8859_1));
    }

    @FuzzTest(maxDuration = "10s")
    void natPmpDecodersNeverThrow(byte[] input) {
        Decoded<NatPmpCodec.MapResponse> m = NatPmpCodec.decodeMapResponse(input, input.length);
        if (m instanceof Decoded.Ok<NatPmpCodec.MapResponse> ok) {
            assertThat(NatPmpCodec.encode(ok.value())).isEqualTo(input);
        }
        Decoded<NatPmpCodec.AddressResponse> a = NatPmpCodec.decodeAddressResponse(input, input.length);
        if (a instanceof Decoded.Ok<NatPmpCodec.AddressResponse> ok) {
            assertThat(NatPmpCodec.encode(ok.value())).isEqualTo(input);
        }
        Decoded<NatPmpCodec.MapRequest> q = NatPmpCodec.decodeMapRequest(input, input.length);
        if (q instanceof Decoded.Ok<NatPmpCodec.MapRequest> ok) {
            byte[] again = NatPmpCodec.encode(ok.value());
            assertThat(Arrays.equals(again, 0, 2, input, 0, 2)).isTrue();
            assertThat(Arrays.equals(again, 4, 12, input, 4, 12)).isTrue();
        }
    }
}
