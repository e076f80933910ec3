package dev.burrow.agent.portmap;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilder;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.xml.sax.ErrorHandler;
import org.xml.sax.SAXParseException;

/**
 * UPnP IGD (Internet Gateway Device) messages: pure encode and decode functions for SSDP discovery
 * (an HTTP-over-UDP M-SEARCH and its answer), the device description (XML: the WAN connection
 * service's control URL) and the SOAP actions AddPortMapping, DeletePortMapping and
 * GetExternalIPAddress. Decoders never throw on wire input; XML is parsed with DOCTYPEs refused (no
 * external entities) and only after the size limits below.
 */
public final class UpnpCodec {
    /** The SSDP port; the M-SEARCH goes to the default gateway's, unicast. */
    public static final int SSDP_PORT = 1900;
    /** An SSDP answer is a few hundred bytes of headers; more is not one. */
    public static final int MAX_SSDP_RESPONSE = 1500;
    /** Device descriptions of real routers are a few KiB; 64 KiB bounds what we read and parse. */
    public static final int MAX_DESCRIPTION = 64 * 1024;
    /** SOAP answers are under 1 KiB; 16 KiB bounds what we read and parse. */
    public static final int MAX_SOAP_RESPONSE = 16 * 1024;

    public static final String IGD_DEVICE = "urn:schemas-upnp-org:device:InternetGatewayDevice:1";
    /** The WAN connection services that map ports, best first. */
    public static final List<String> WAN_SERVICES = List.of(
            "urn:schemas-upnp-org:service:WANIPConnection:2",
            "urn:schemas-upnp-org:service:WANIPConnection:1",
            "urn:schemas-upnp-org:service:WANPPPConnection:1");

    /** UPnP error 725: the gateway supports only permanent (lease 0) mappings. */
    public static final int ONLY_PERMANENT_LEASES = 725;

    private UpnpCodec() {}

    /** An SSDP answer: where the device description is. */
    public record SsdpResponse(URI location, String searchTarget) {}

    /** The WAN connection service of a gateway: its type and absolute control URL. */
    public record WanService(String serviceType, URI controlUrl) {}

    /** A SOAP action's answer: its output arguments, or the UPnP error. */
    public record SoapResult(Map<String, String> arguments) {}

    public static byte[] encodeMSearch(String gatewayHost) {
        return ("M-SEARCH * HTTP/1.1\r\n"
                        + "HOST: " + gatewayHost + ":" + SSDP_PORT + "\r\n"
                        + "MAN: \"ssdp:discover\"\r\n"
                        + "MX: 1\r\n"
                        + "ST: " + IGD_DEVICE + "\r\n"
                        + "\r\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** Decodes an SSDP answer: {@code HTTP/1.1 200 OK} with an http LOCATION header. */
    public static Decoded<SsdpResponse> decodeSsdpResponse(byte[] data, int length) {
        if (length <= 0 || length > MAX_SSDP_RESPONSE || data.length < length) {
            return Decoded.refused(Refusal.SIZE, "an SSDP answer is 1.." + MAX_SSDP_RESPONSE + " bytes, got " + length);
        }
        String text = new String(data, 0, length, StandardCharsets.ISO_8859_1);
        String[] lines = text.split("\r?\n");
        if (!lines[0].startsWith("HTTP/1.1 200") && !lines[0].startsWith("HTTP/1.0 200")) {
            return Decoded.refused(Refusal.OPCODE, "not an SSDP answer: " + printable(lines[0]));
        }
        String location = null;
        String st = null;
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon <= 0) {
                continue;
            }
            String name = lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT);
            String value = lines[i].substring(colon + 1).trim();
            if (name.equals("location")) {
                location = value;
            } else if (name.equals("st")) {
                st = value;
            }
        }
        if (location == null) {
            return Decoded.refused(Refusal.UNUSABLE, "the SSDP answer has no LOCATION");
        }
        try {
            URI uri = new URI(location);
            if (!"http".equalsIgnoreCase(uri.getScheme()) || uri.getHost() == null) {
                return Decoded.refused(Refusal.UNUSABLE, "LOCATION is not an http URL: " + printable(location));
            }
            return new Decoded.Ok<>(new SsdpResponse(uri, st));
        } catch (Exception e) {
            return Decoded.refused(Refusal.UNUSABLE, "LOCATION is not a URL: " + printable(location));
        }
    }

    /**
     * The best WAN connection service in a device description, its control URL resolved against
     * {@code URLBase} or the description's own location.
     */
    public static Decoded<WanService> decodeDescription(byte[] xml, int length, URI location) {
        if (length <= 0 || length > MAX_DESCRIPTION || xml.length < length) {
            return Decoded.refused(
                    Refusal.SIZE, "a device description is 1.." + MAX_DESCRIPTION + " bytes, got " + length);
        }
        Document doc = parse(xml, length);
        if (doc == null) {
            return Decoded.refused(Refusal.UNUSABLE, "the device description is not well-formed XML");
        }
        URI base = location;
        String urlBase = firstText(doc.getDocumentElement(), "URLBase");
        try {
            if (urlBase != null && !urlBase.isBlank()) {
                base = new URI(urlBase.trim());
            }
            Map<String, URI> found = new LinkedHashMap<>();
            NodeList services = doc.getElementsByTagNameNS("*", "service");
            for (int i = 0; i < services.getLength(); i++) {
                Element s = (Element) services.item(i);
                String type = firstText(s, "serviceType");
                String control = firstText(s, "controlURL");
                if (type != null && control != null && WAN_SERVICES.contains(type.trim())) {
                    found.putIfAbsent(type.trim(), base.resolve(control.trim()));
                }
            }
            for (String type : WAN_SERVICES) {
                URI u = found.get(type);
                if (u != null) {
                    if (!"http".equalsIgnoreCase(u.getScheme()) || u.getHost() == null) {
                        return Decoded.refused(Refusal.UNUSABLE, "the control URL is not an http URL: " + u);
                    }
                    return new Decoded.Ok<>(new WanService(type, u));
                }
            }
        } catch (Exception e) {
            return Decoded.refused(Refusal.UNUSABLE, "a URL in the device description is not valid");
        }
        return Decoded.refused(Refusal.UNUSABLE, "the gateway offers no WAN connection service (no port mapping)");
    }

    /** AddPortMapping for UDP {@code internalPort} of {@code internalClient}, at {@code externalPort}. */
    public static String encodeAddPortMapping(
            String serviceType, int externalPort, int internalPort, String internalClient, long leaseSeconds) {
        return envelope(
                serviceType,
                "AddPortMapping",
                "<NewRemoteHost></NewRemoteHost><NewExternalPort>" + externalPort
                        + "</NewExternalPort><NewProtocol>UDP</NewProtocol><NewInternalPort>" + internalPort
                        + "</NewInternalPort><NewInternalClient>" + internalClient
                        + "</NewInternalClient><NewEnabled>1</NewEnabled>"
                        + "<NewPortMappingDescription>burrow</NewPortMappingDescription><NewLeaseDuration>"
                        + leaseSeconds + "</NewLeaseDuration>");
    }

    public static String encodeDeletePortMapping(String serviceType, int externalPort) {
        return envelope(
                serviceType,
                "DeletePortMapping",
                "<NewRemoteHost></NewRemoteHost><NewExternalPort>" + externalPort
                        + "</NewExternalPort><NewProtocol>UDP</NewProtocol>");
    }

    public static String encodeGetExternalIpAddress(String serviceType) {
        return envelope(serviceType, "GetExternalIPAddress", "");
    }

    /** The SOAPAction header of an action. */
    public static String soapAction(String serviceType, String action) {
        return "\"" + serviceType + "#" + action + "\"";
    }

    /**
     * A SOAP answer: HTTP 200 with {@code <u:ActionResponse>} gives its output arguments; anything else
     * is refused, a UPnP error with its code and description ({@code errorCode=725} for
     * OnlyPermanentLeasesSupported).
     */
    public static Decoded<SoapResult> decodeSoapResponse(int status, byte[] body, int length, String action) {
        if (length < 0 || length > MAX_SOAP_RESPONSE || body.length < length) {
            return Decoded.refused(
                    Refusal.SIZE, "a SOAP answer is at most " + MAX_SOAP_RESPONSE + " bytes, got " + length);
        }
        Document doc = length == 0 ? null : parse(body, length);
        if (status != 200) {
            String code = doc == null ? null : firstText(doc.getDocumentElement(), "errorCode");
            String desc = doc == null ? null : firstText(doc.getDocumentElement(), "errorDescription");
            return Decoded.refused(
                    Refusal.RESULT_CODE,
                    action + ": HTTP " + status + (code == null ? "" : ", UPnP error " + printable(code.trim()))
                            + (desc == null ? "" : " " + printable(desc.trim())));
        }
        if (doc == null) {
            return Decoded.refused(Refusal.UNUSABLE, action + ": the answer is not well-formed XML");
        }
        NodeList responses = doc.getElementsByTagNameNS("*", action + "Response");
        if (responses.getLength() == 0) {
            return Decoded.refused(Refusal.OPCODE, "not the answer to " + action);
        }
        Map<String, String> args = new LinkedHashMap<>();
        for (Node n = responses.item(0).getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element e) {
                args.put(
                        e.getLocalName() == null ? e.getTagName() : e.getLocalName(),
                        e.getTextContent().trim());
            }
        }
        return new Decoded.Ok<>(new SoapResult(args));
    }

    /** The UPnP error code in a refused SOAP answer's reason, or -1. */
    public static int upnpErrorCode(String reason) {
        int i = reason.indexOf("UPnP error ");
        if (i < 0) {
            return -1;
        }
        int start = i + "UPnP error ".length();
        int end = start;
        while (end < reason.length() && Character.isDigit(reason.charAt(end))) {
            end++;
        }
        return end == start || end - start > 6 ? -1 : Integer.parseInt(reason.substring(start, end));
    }

    private static String envelope(String serviceType, String action, String args) {
        return "<?xml version=\"1.0\"?>\r\n"
                + "<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                + "s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>"
                + "<u:" + action + " xmlns:u=\"" + serviceType + "\">" + args + "</u:" + action + ">"
                + "</s:Body></s:Envelope>\r\n";
    }

    private static Document parse(byte[] xml, int length) {
        try {
            DocumentBuilderFactory f = DocumentBuilderFactory.newInstance();
            f.setNamespaceAware(true);
            f.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
            f.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
            f.setXIncludeAware(false);
            f.setExpandEntityReferences(false);
            DocumentBuilder b = f.newDocumentBuilder();
            b.setErrorHandler(QUIET);
            return b.parse(new ByteArrayInputStream(xml, 0, length));
        } catch (Exception e) {
            return null;
        }
    }

    /** Parse errors are reported by returning null, not printed to stderr (the parser's default). */
    private static final ErrorHandler QUIET = new ErrorHandler() {
        @Override
        public void warning(SAXParseException e) {}

        @Override
        public void error(SAXParseException e) throws SAXParseException {
            throw e;
        }

        @Override
        public void fatalError(SAXParseException e) throws SAXParseException {
            throw e;
        }
    };

    /** The text of the first descendant element with this local name, or null. */
    private static String firstText(Element root, String localName) {
        if (root == null) {
            return null;
        }
        NodeList l = root.getElementsByTagNameNS("*", localName);
        return l.getLength() == 0 ? null : l.item(0).getTextContent();
    }

    /** At most 80 printable ASCII characters of wire text, for a reason. */
    private static String printable(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length() && b.length() < 80; i++) {
            char c = s.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return b.toString();
    }
}
