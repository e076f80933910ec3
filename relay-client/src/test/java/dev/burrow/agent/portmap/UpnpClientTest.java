package dev.burrow.agent.portmap;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The client's UPnP IGD path against a fake gateway on 127.0.0.2 (SSDP on its port 1900, the
 * description and SOAP control on HTTP): nothing answers PCP or NAT-PMP there, so the client falls
 * through to UPnP, maps, and deletes.
 */
class UpnpClientTest {
    static final int PORT = 41641;
    static final String SERVICE = "urn:schemas-upnp-org:service:WANIPConnection:1";

    InetAddress gatewayIp;
    DatagramSocket ssdp;
    HttpServer http;
    Thread ssdpThread;
    final List<String> soapBodies = new CopyOnWriteArrayList<>();
    volatile boolean onlyPermanent;
    volatile String location;
    /** When set, every M-SEARCH is first answered from here (another address than the gateway's). */
    volatile DatagramSocket forger;

    @BeforeEach
    void fakeGateway() throws Exception {
        gatewayIp = InetAddress.getByName("127.0.0.2");
        http = HttpServer.create(new InetSocketAddress(gatewayIp, 0), 0);
        location = "http://127.0.0.2:" + http.getAddress().getPort() + "/rootDesc.xml";
        http.createContext("/rootDesc.xml", ex -> reply(ex, 200, UpnpCodecTest.DESCRIPTION));
        http.createContext("/ctl/IPConn", this::control);
        http.start();
        ssdp = new DatagramSocket(new InetSocketAddress(gatewayIp, UpnpCodec.SSDP_PORT));
        ssdpThread = Thread.ofPlatform().daemon().start(() -> {
            byte[] buf = new byte[2048];
            while (!ssdp.isClosed()) {
                try {
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    ssdp.receive(p);
                    byte[] answer = ("HTTP/1.1 200 OK\r\nST: " + UpnpCodec.IGD_DEVICE + "\r\nLOCATION: " + location
                                    + "\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    DatagramSocket f = forger;
                    if (f != null) {
                        byte[] forged = new String(answer, StandardCharsets.US_ASCII)
                                .replace("127.0.0.2", "127.0.0.3")
                                .getBytes(StandardCharsets.US_ASCII);
                        f.send(new DatagramPacket(forged, forged.length, p.getSocketAddress()));
                    }
                    ssdp.send(new DatagramPacket(answer, answer.length, p.getSocketAddress()));
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private void control(HttpExchange ex) throws IOException {
        String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        soapBodies.add(body);
        String action = ex.getRequestHeaders().getFirst("SOAPAction");
        if (action.contains("#AddPortMapping")) {
            if (onlyPermanent && !body.contains("<NewLeaseDuration>0</NewLeaseDuration>")) {
                reply(
                        ex,
                        500,
                        "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                                + "<s:Body><s:Fault><detail><UPnPError xmlns=\"urn:schemas-upnp-org:control-1-0\">"
                                + "<errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription>"
                                + "</UPnPError></detail></s:Fault></s:Body></s:Envelope>");
                return;
            }
            reply(ex, 200, response("AddPortMapping", ""));
        } else if (action.contains("#GetExternalIPAddress")) {
            reply(
                    ex,
                    200,
                    response("GetExternalIPAddress", "<NewExternalIPAddress>203.0.113.10</NewExternalIPAddress>"));
        } else if (action.contains("#DeletePortMapping")) {
            reply(ex, 200, response("DeletePortMapping", ""));
        } else {
            reply(ex, 500, "");
        }
    }

    private static String response(String action, String args) {
        return "<?xml version=\"1.0\"?><s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\"><s:Body>"
                + "<u:" + action + "Response xmlns:u=\"" + SERVICE + "\">" + args + "</u:" + action + "Response>"
                + "</s:Body></s:Envelope>";
    }

    private static void reply(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length == 0 ? -1 : b.length);
        if (b.length > 0) {
            ex.getResponseBody().write(b);
        }
        ex.close();
    }

    @AfterEach
    void stop() throws Exception {
        ssdp.close();
        http.stop(0);
        ssdpThread.join(5000);
    }

    PortMapClient client(PortMapCounters counters) {
        return new PortMapClient(new InetSocketAddress(gatewayIp, PcpCodec.SERVER_PORT), counters);
    }

    @Test
    void upnpMapsWhenPcpAndNatPmpAreAbsentAndDeletes() {
        PortMapClient c = client(new PortMapCounters());
        PortMapClient.Outcome o = c.map(PORT, null);
        assertThat(o.map()).as(o.reason()).isPresent();
        PortMap m = o.map().get();
        assertThat(m.protocol()).isEqualTo(PortMapProtocol.UPNP);
        assertThat(m.external()).isEqualTo(new InetSocketAddress("203.0.113.10", PORT));
        assertThat(m.lifetimeSeconds()).isEqualTo(PortMapClient.REQUESTED_LIFETIME_SECONDS);
        assertThat(m.upnp().controlUrl().getPath()).isEqualTo("/ctl/IPConn");
        assertThat(o.answered()).containsExactly(PortMapProtocol.UPNP);
        assertThat(soapBodies.get(0))
                .contains("<NewExternalPort>" + PORT + "</NewExternalPort>")
                .contains("<NewInternalPort>" + PORT + "</NewInternalPort>")
                .contains("<NewLeaseDuration>7200</NewLeaseDuration>");

        assertThat(c.delete(m)).isTrue();
        assertThat(soapBodies.get(soapBodies.size() - 1))
                .contains("DeletePortMapping")
                .contains(">" + PORT + "<");
        assertThat(c.probe().offered()).containsExactly(PortMapProtocol.UPNP);
    }

    @Test
    void aGatewayWithOnlyPermanentLeasesGetsLeaseZeroAndIsReAddedPeriodically() {
        onlyPermanent = true;
        PortMapCounters counters = new PortMapCounters();
        PortMapClient.Outcome o = client(counters).map(PORT, null);
        assertThat(o.map()).as(o.reason()).isPresent();
        assertThat(o.map().get().lifetimeSeconds()).isEqualTo(UpnpClient.PERMANENT_RENEW_SECONDS);
        assertThat(soapBodies.get(1)).contains("<NewLeaseDuration>0</NewLeaseDuration>");
        assertThat(counters.refusedCount(Refusal.RESULT_CODE)).isEqualTo(1);
    }

    @Test
    void ssdpAnswersFromAnotherAddressAreIgnoredAndCounted() throws Exception {
        try (DatagramSocket f = new DatagramSocket(new InetSocketAddress(InetAddress.getByName("127.0.0.3"), 0))) {
            forger = f;
            PortMapCounters counters = new PortMapCounters();
            PortMapClient.Outcome o = client(counters).map(PORT, null);
            assertThat(o.map()).as(o.reason()).isPresent();
            assertThat(o.map().get().upnp().controlUrl().getHost()).isEqualTo("127.0.0.2");
            assertThat(counters.refusedCount(Refusal.SOURCE)).isPositive();
        }
    }

    @Test
    void aDescriptionAnywhereButOnTheGatewayIsRefused() {
        location = "http://127.0.0.3:" + http.getAddress().getPort() + "/rootDesc.xml";
        PortMapCounters counters = new PortMapCounters();
        PortMapClient.Outcome o = client(counters).map(PORT, null);
        assertThat(o.map()).isEmpty();
        assertThat(o.reason()).contains("upnp: ").contains("not on the gateway");
        assertThat(counters.refusedCount(Refusal.UNUSABLE)).isPositive();
        assertThat(soapBodies).isEmpty();
    }
}
