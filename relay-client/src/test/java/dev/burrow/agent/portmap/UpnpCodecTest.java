package dev.burrow.agent.portmap;

import static dev.burrow.agent.portmap.PcpCodecTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** UPnP IGD: the M-SEARCH, SSDP answers, device descriptions and SOAP messages, golden and refused. */
class UpnpCodecTest {
    static final URI LOCATION = URI.create("http://10.1.0.1:5000/rootDesc.xml");

    static final String SSDP_ANSWER = "HTTP/1.1 200 OK\r\n"
            + "CACHE-CONTROL: max-age=120\r\n"
            + "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            + "USN: uuid:3f8b2e4c-1111-4a5b-9c3d-2e4f5a6b7c8d::urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n"
            + "EXT:\r\n"
            + "SERVER: Debian/12 UPnP/1.1 MiniUPnPd/2.3.1\r\n"
            + "LOCATION: http://10.1.0.1:5000/rootDesc.xml\r\n"
            + "\r\n";

    /** The shape of miniupnpd's description: the WAN connection service two devices deep. */
    static final String DESCRIPTION = "<?xml version=\"1.0\"?>\n"
            + "<root xmlns=\"urn:schemas-upnp-org:device-1-0\"><specVersion><major>1</major><minor>1</minor></specVersion>"
            + "<device><deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>"
            + "<serviceList><service><serviceType>urn:schemas-upnp-org:service:Layer3Forwarding:1</serviceType>"
            + "<controlURL>/ctl/L3F</controlURL></service></serviceList>"
            + "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANDevice:1</deviceType>"
            + "<deviceList><device><deviceType>urn:schemas-upnp-org:device:WANConnectionDevice:1</deviceType>"
            + "<serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>"
            + "<serviceId>urn:upnp-org:serviceId:WANIPConn1</serviceId><controlURL>/ctl/IPConn</controlURL>"
            + "</service></serviceList></device></deviceList></device></deviceList></device></root>\n";

    static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void mSearchAsksForAnInternetGatewayDevice() {
        assertThat(new String(UpnpCodec.encodeMSearch("10.1.0.1"), StandardCharsets.US_ASCII))
                .isEqualTo("M-SEARCH * HTTP/1.1\r\nHOST: 10.1.0.1:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
                        + "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n");
    }

    @Test
    void ssdpAnswersGiveTheDescriptionsLocation() {
        byte[] a = b(SSDP_ANSWER);
        assertThat(UpnpCodec.decodeSsdpResponse(a, a.length))
                .isEqualTo(new Decoded.Ok<>(new UpnpCodec.SsdpResponse(LOCATION, UpnpCodec.IGD_DEVICE)));
        byte[] notify = b("NOTIFY * HTTP/1.1\r\nLOCATION: http://10.1.0.1:5000/\r\n\r\n");
        assertRefused(UpnpCodec.decodeSsdpResponse(notify, notify.length), Refusal.OPCODE);
        byte[] noLocation = b("HTTP/1.1 200 OK\r\nST: x\r\n\r\n");
        assertRefused(UpnpCodec.decodeSsdpResponse(noLocation, noLocation.length), Refusal.UNUSABLE);
        byte[] https = b("HTTP/1.1 200 OK\r\nLOCATION: file:///etc/passwd\r\n\r\n");
        assertRefused(UpnpCodec.decodeSsdpResponse(https, https.length), Refusal.UNUSABLE);
        assertRefused(UpnpCodec.decodeSsdpResponse(new byte[1501], 1501), Refusal.SIZE);
    }

    @Test
    void theDescriptionGivesTheWanConnectionsControlUrl() {
        byte[] d = b(DESCRIPTION);
        assertThat(UpnpCodec.decodeDescription(d, d.length, LOCATION))
                .isEqualTo(new Decoded.Ok<>(new UpnpCodec.WanService(
                        "urn:schemas-upnp-org:service:WANIPConnection:1",
                        URI.create("http://10.1.0.1:5000/ctl/IPConn"))));
        byte[] withBase =
                b(DESCRIPTION.replace("<specVersion>", "<URLBase>http://10.1.0.1:6000/</URLBase><specVersion>"));
        assertThat(((Decoded.Ok<UpnpCodec.WanService>) UpnpCodec.decodeDescription(withBase, withBase.length, LOCATION))
                        .value()
                        .controlUrl())
                .isEqualTo(URI.create("http://10.1.0.1:6000/ctl/IPConn"));
    }

    @Test
    void descriptionsWithoutAWanServiceOrWithEntitiesAreRefused() {
        byte[] none = b(DESCRIPTION.replace("WANIPConnection:1", "WANCommonInterfaceConfig:1"));
        assertRefused(UpnpCodec.decodeDescription(none, none.length, LOCATION), Refusal.UNUSABLE);
        byte[] xxe = b("<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/hostname\">]>"
                + "<root><URLBase>&x;</URLBase></root>");
        assertRefused(UpnpCodec.decodeDescription(xxe, xxe.length, LOCATION), Refusal.UNUSABLE);
        byte[] broken = b("<root><device>");
        assertRefused(UpnpCodec.decodeDescription(broken, broken.length, LOCATION), Refusal.UNUSABLE);
        assertRefused(
                UpnpCodec.decodeDescription(
                        new byte[UpnpCodec.MAX_DESCRIPTION + 1], UpnpCodec.MAX_DESCRIPTION + 1, LOCATION),
                Refusal.SIZE);
    }

    @Test
    void soapRequestsAreTheUpnpActions() {
        String t = "urn:schemas-upnp-org:service:WANIPConnection:1";
        assertThat(UpnpCodec.encodeAddPortMapping(t, 40000, 41641, "10.1.0.10", 7200))
                .isEqualTo(
                        "<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                                + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
                                + "<u:AddPortMapping xmlns:u=\"" + t + "\"><NewRemoteHost></NewRemoteHost>"
                                + "<NewExternalPort>40000</NewExternalPort><NewProtocol>UDP</NewProtocol>"
                                + "<NewInternalPort>41641</NewInternalPort><NewInternalClient>10.1.0.10</NewInternalClient>"
                                + "<NewEnabled>1</NewEnabled><NewPortMappingDescription>burrow</NewPortMappingDescription>"
                                + "<NewLeaseDuration>7200</NewLeaseDuration></u:AddPortMapping></s:Body></s:Envelope>\r\n");
        assertThat(UpnpCodec.encodeDeletePortMapping(t, 40000))
                .contains(
                        "<u:DeletePortMapping xmlns:u=\"" + t + "\"><NewRemoteHost></NewRemoteHost>"
                                + "<NewExternalPort>40000</NewExternalPort><NewProtocol>UDP</NewProtocol></u:DeletePortMapping>");
        assertThat(UpnpCodec.soapAction(t, "GetExternalIPAddress")).isEqualTo("\"" + t + "#GetExternalIPAddress\"");
    }

    @Test
    void soapAnswersAndErrorsDecode() {
        byte[] ok =
                b("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                        + "<u:GetExternalIPAddressResponse xmlns:u=\"urn:schemas-upnp-org:service:WANIPConnection:1\">"
                        + "<NewExternalIPAddress>203.0.113.10</NewExternalIPAddress></u:GetExternalIPAddressResponse>"
                        + "</s:Body></s:Envelope>");
        var d = UpnpCodec.decodeSoapResponse(200, ok, ok.length, "GetExternalIPAddress");
        assertThat(((Decoded.Ok<UpnpCodec.SoapResult>) d).value().arguments())
                .containsEntry("NewExternalIPAddress", "203.0.113.10");
        assertRefused(UpnpCodec.decodeSoapResponse(200, ok, ok.length, "AddPortMapping"), Refusal.OPCODE);
        byte[] fault =
                b("<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                        + "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail>"
                        + "<UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\"><errorCode>725</errorCode>"
                        + "<errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>"
                        + "</s:Body></s:Envelope>");
        var e = UpnpCodec.decodeSoapResponse(500, fault, fault.length, "AddPortMapping");
        assertRefused(e, Refusal.RESULT_CODE);
        String reason = ((Decoded.Refused<?>) e).reason();
        assertThat(reason).contains("HTTP 500").contains("OnlyPermanentLeasesSupported");
        assertThat(UpnpCodec.upnpErrorCode(reason)).isEqualTo(UpnpCodec.ONLY_PERMANENT_LEASES);
        assertThat(UpnpCodec.upnpErrorCode("AddPortMapping: HTTP 500")).isEqualTo(-1);
        assertRefused(UpnpCodec.decodeSoapResponse(200, new byte[0], 0, "AddPortMapping"), Refusal.UNUSABLE);
    }

    @Test
    void externalAddressesAreIpv4LiteralsOnly() {
        assertThat(UpnpClient.ipv4Literal("203.0.113.10")).isNotNull();
        assertThat(UpnpClient.ipv4Literal("example.com")).isNull();
        assertThat(UpnpClient.ipv4Literal("1.2.3.256")).isNull();
        assertThat(UpnpClient.ipv4Literal("1.2.3")).isNull();
        assertThat(UpnpClient.ipv4Literal(null)).isNull();
    }
}
