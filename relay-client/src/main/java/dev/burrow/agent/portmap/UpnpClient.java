package dev.burrow.agent.portmap;

import dev.burrow.agent.portmap.PortMapClient.Attempt;
import java.io.IOException;
import java.io.InputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * UPnP IGD for {@link PortMapClient}: an M-SEARCH sent unicast to the default gateway's SSDP port
 * (never multicast: nothing leaves for anyone but the gateway), its device description and SOAP
 * control URL accepted only on the gateway's own address, then AddPortMapping /
 * GetExternalIPAddress / DeletePortMapping. Every step bounded.
 */
final class UpnpClient {
    /** One HTTP exchange with the gateway (connect and answer); a LAN router answers in milliseconds. */
    static final Duration HTTP_TIMEOUT = Duration.ofSeconds(1);
    /**
     * A gateway that only grants permanent mappings (UPnP error 725) gets lease 0; we still "renew"
     * (re-add) this often, so a mapping the gateway forgot (a reboot) comes back.
     */
    static final long PERMANENT_RENEW_SECONDS = 3600;

    private final InetSocketAddress gateway;
    private final PortMapCounters counters;

    UpnpClient(InetSocketAddress gateway, PortMapCounters counters) {
        this.gateway = gateway;
        this.counters = counters;
    }

    /** Finds the gateway's WAN connection service: SSDP, then its description. */
    Attempt<UpnpCodec.WanService> discover() {
        URI location;
        try (DatagramSocket s = new DatagramSocket()) {
            byte[] req = UpnpCodec.encodeMSearch(host());
            InetSocketAddress ssdp = new InetSocketAddress(gateway.getAddress(), UpnpCodec.SSDP_PORT);
            byte[] buf = new byte[UpnpCodec.MAX_SSDP_RESPONSE + 1];
            location = null;
            String lastRefusal = null;
            for (int attempt = 0; attempt < PortMapClient.TRIES && location == null; attempt++) {
                s.send(new DatagramPacket(req, req.length, ssdp));
                long deadline = System.nanoTime() + PortMapClient.TRY_TIMEOUT.toNanos();
                while (location == null) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        break;
                    }
                    s.setSoTimeout((int) Math.max(1, left / 1_000_000));
                    DatagramPacket p = new DatagramPacket(buf, buf.length);
                    try {
                        s.receive(p);
                    } catch (SocketTimeoutException e) {
                        break;
                    }
                    if (!gateway.getAddress().equals(p.getAddress())) {
                        counters.refused(Refusal.SOURCE); // not the gateway: not an answer to us
                        continue;
                    }
                    Decoded<UpnpCodec.SsdpResponse> d = UpnpCodec.decodeSsdpResponse(buf, p.getLength());
                    if (d instanceof Decoded.Ok<UpnpCodec.SsdpResponse> ok) {
                        if (onGateway(ok.value().location())) {
                            location = ok.value().location();
                        } else {
                            counters.refused(Refusal.UNUSABLE);
                            lastRefusal = "the description is not on the gateway: "
                                    + ok.value().location();
                        }
                    } else if (d instanceof Decoded.Refused<UpnpCodec.SsdpResponse> no) {
                        counters.refused(no.refusal());
                        lastRefusal = no.reason();
                    }
                }
            }
            if (location == null) {
                return new Attempt<>(
                        null,
                        lastRefusal != null,
                        lastRefusal != null
                                ? "no usable SSDP answer (last refused: " + lastRefusal + ")"
                                : "no SSDP answer after " + PortMapClient.TRIES + " tries of "
                                        + PortMapClient.TRY_TIMEOUT.toMillis() + " ms");
            }
        } catch (IOException e) {
            return new Attempt<>(null, false, e.toString());
        }
        Http desc = http(location, null, null);
        if (desc.error() != null) {
            return new Attempt<>(null, true, "device description: " + desc.error());
        }
        Decoded<UpnpCodec.WanService> d = UpnpCodec.decodeDescription(desc.body(), desc.body().length, location);
        if (d instanceof Decoded.Refused<UpnpCodec.WanService> no) {
            counters.refused(no.refusal());
            return new Attempt<>(null, true, no.reason(), no.refusal());
        }
        UpnpCodec.WanService service = ((Decoded.Ok<UpnpCodec.WanService>) d).value();
        if (!onGateway(service.controlUrl())) {
            counters.refused(Refusal.UNUSABLE);
            return new Attempt<>(null, true, "the control URL is not on the gateway: " + service.controlUrl());
        }
        return new Attempt<>(service, true, null);
    }

    /** Maps UDP {@code internalPort} (a renewal re-adds the same external port on the same service). */
    Attempt<PortMap> map(int internalPort, PortMap previous) {
        UpnpCodec.WanService service;
        if (previous != null && previous.upnp() != null) {
            service = previous.upnp();
        } else {
            Attempt<UpnpCodec.WanService> found = discover();
            if (found.value() == null) {
                return new Attempt<>(null, found.answered(), found.reason(), found.refusal());
            }
            service = found.value();
        }
        String client = clientAddress();
        if (client == null) {
            return new Attempt<>(null, true, "no IPv4 source address towards the gateway");
        }
        int externalPort = previous == null ? internalPort : previous.external().getPort();
        long lease = PortMapClient.REQUESTED_LIFETIME_SECONDS;
        Decoded<UpnpCodec.SoapResult> added = soap(
                service,
                "AddPortMapping",
                UpnpCodec.encodeAddPortMapping(service.serviceType(), externalPort, internalPort, client, lease));
        if (added instanceof Decoded.Refused<UpnpCodec.SoapResult> no
                && UpnpCodec.upnpErrorCode(no.reason()) == UpnpCodec.ONLY_PERMANENT_LEASES) {
            lease = 0;
            added = soap(
                    service,
                    "AddPortMapping",
                    UpnpCodec.encodeAddPortMapping(service.serviceType(), externalPort, internalPort, client, 0));
        }
        if (added instanceof Decoded.Refused<UpnpCodec.SoapResult> no) {
            return new Attempt<>(null, true, no.reason(), no.refusal());
        }
        InetAddress external = previous == null ? null : previous.external().getAddress();
        if (external == null) {
            Decoded<UpnpCodec.SoapResult> ip =
                    soap(service, "GetExternalIPAddress", UpnpCodec.encodeGetExternalIpAddress(service.serviceType()));
            if (ip instanceof Decoded.Refused<UpnpCodec.SoapResult> no) {
                return new Attempt<>(null, true, no.reason(), no.refusal());
            }
            String text =
                    ((Decoded.Ok<UpnpCodec.SoapResult>) ip).value().arguments().get("NewExternalIPAddress");
            external = ipv4Literal(text);
            if (external == null || external.isAnyLocalAddress()) {
                counters.refused(Refusal.UNUSABLE);
                return new Attempt<>(null, true, "GetExternalIPAddress: not a usable IPv4 address");
            }
        }
        return new Attempt<>(
                new PortMap(
                        PortMapProtocol.UPNP,
                        internalPort,
                        new InetSocketAddress(external, externalPort),
                        lease == 0 ? PERMANENT_RENEW_SECONDS : lease,
                        System.nanoTime(),
                        null,
                        service),
                true,
                null);
    }

    boolean delete(PortMap m) {
        return m.upnp() != null
                && soap(
                                m.upnp(),
                                "DeletePortMapping",
                                UpnpCodec.encodeDeletePortMapping(
                                        m.upnp().serviceType(), m.external().getPort()))
                        instanceof Decoded.Ok;
    }

    private Decoded<UpnpCodec.SoapResult> soap(UpnpCodec.WanService service, String action, String body) {
        Http r = http(service.controlUrl(), UpnpCodec.soapAction(service.serviceType(), action), body);
        if (r.error() != null) {
            return Decoded.refused(Refusal.UNUSABLE, action + ": " + r.error());
        }
        Decoded<UpnpCodec.SoapResult> d = UpnpCodec.decodeSoapResponse(r.status(), r.body(), r.body().length, action);
        if (d instanceof Decoded.Refused<UpnpCodec.SoapResult> no) {
            counters.refused(no.refusal());
        }
        return d;
    }

    /** An HTTP answer (status and at most the limit's bytes plus one), or why there is none. */
    record Http(int status, byte[] body, String error) {}

    /** GET (no body) or a SOAP POST, bounded in time and size; never follows redirects. */
    private Http http(URI uri, String soapAction, String body) {
        int max = body == null ? UpnpCodec.MAX_DESCRIPTION : UpnpCodec.MAX_SOAP_RESPONSE;
        try (HttpClient c = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(HTTP_TIMEOUT)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build()) {
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(HTTP_TIMEOUT);
            if (body == null) {
                b.GET();
            } else {
                b.header("Content-Type", "text/xml; charset=\"utf-8\"")
                        .header("SOAPAction", soapAction)
                        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
            }
            HttpResponse<InputStream> r = c.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = r.body()) {
                byte[] got = in.readNBytes(max + 1);
                return new Http(r.statusCode(), got, null);
            }
        } catch (IOException e) {
            return new Http(0, new byte[0], e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Http(0, new byte[0], "interrupted");
        } catch (RuntimeException e) {
            return new Http(0, new byte[0], e.toString());
        }
    }

    private boolean onGateway(URI u) {
        return u != null && gateway.getAddress().getHostAddress().equals(u.getHost());
    }

    private String host() {
        return gateway.getAddress().getHostAddress();
    }

    /** Our address towards the gateway (the mapping's internal client). */
    private String clientAddress() {
        try (DatagramSocket s = new DatagramSocket()) {
            s.connect(gateway);
            return s.getLocalAddress() instanceof Inet4Address a && !a.isAnyLocalAddress() ? a.getHostAddress() : null;
        } catch (IOException e) {
            return null;
        }
    }

    /** A dotted-quad IPv4 literal, or null (never a DNS lookup). */
    static Inet4Address ipv4Literal(String s) {
        if (s == null) {
            return null;
        }
        String[] parts = s.trim().split("\\.", -1);
        if (parts.length != 4) {
            return null;
        }
        byte[] b = new byte[4];
        for (int i = 0; i < 4; i++) {
            if (parts[i].isEmpty() || parts[i].length() > 3 || !parts[i].chars().allMatch(Character::isDigit)) {
                return null;
            }
            int v = Integer.parseInt(parts[i]);
            if (v > 255) {
                return null;
            }
            b[i] = (byte) v;
        }
        try {
            return (Inet4Address) InetAddress.getByAddress(b);
        } catch (IOException e) {
            return null;
        }
    }
}
