package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.tls.NodeTls;
import dev.burrow.identity.tls.TlsGroups;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.testing.TestRelays;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.SslContext;
import java.io.ByteArrayInputStream;
import java.io.File;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * A real TLS scanner ({@code sslscan}, Debian package; {@code scripts/install-test-deps.sh} installs
 * it) against the relay's port and against a node's end-to-end TLS server (the context every exposing
 * agent serves circuits with, {@link NodeTls#server}): TLS 1.3 only, and no cipher suite or key
 * exchange group beyond what {@code docs/security.md} lists. Without sslscan the test is skipped,
 * except in CI ({@code CI=true}), where it fails.
 */
class TlsScanTest {
    /** What docs/security.md lists for the relay port: Netty's TLS 1.3 defaults on the JDK provider. */
    static final Set<String> RELAY_SUITES = Set.of("TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384");

    static final Path SECURITY_DOC = Path.of("..", "docs", "security.md");
    static final long SCAN_TIMEOUT_SECONDS = 120;

    record Scan(Set<String> protocols, Set<String> suites, Set<String> groups, String raw) {}

    @Test
    void theRelayPortOffersTls13OnlyWithTheDocumentedSuitesAndGroups() throws Exception {
        String sslscan = sslscanOrSkip();
        RelayServer relay = TestRelays.start(Map.of());
        try {
            Scan s = scan(sslscan, relay.address().getPort());
            assertThat(s.protocols()).as(s.raw()).containsExactly("TLSv1.3");
            assertThat(s.suites()).as(s.raw()).isNotEmpty().isSubsetOf(RELAY_SUITES);
            assertThat(s.groups()).as(s.raw()).isNotEmpty().isSubsetOf(TlsGroups.NAMED_GROUPS);
            assertListedInTheSecurityDoc(s);
        } finally {
            relay.close();
        }
    }

    @Test
    void aNodesEndToEndTlsOffersTls13OnlyWithTheDocumentedSuitesAndGroups() throws Exception {
        String sslscan = sslscanOrSkip();
        SslContext ctx = NodeTls.server(
                NodeIdentity.ephemeral("scanned"), NodeVerifier.builder().build());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel server = new ServerBootstrap()
                    .group(group)
                    .channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(ctx.newHandler(ch.alloc()));
                        }
                    })
                    .bind(new InetSocketAddress("127.0.0.1", 0))
                    .sync()
                    .channel();
            Scan s = scan(sslscan, ((InetSocketAddress) server.localAddress()).getPort());
            assertThat(s.protocols()).as(s.raw()).containsExactly("TLSv1.3");
            assertThat(s.suites()).as(s.raw()).isNotEmpty().isSubsetOf(NodeTls.CIPHER_SUITES);
            assertThat(s.groups()).as(s.raw()).isNotEmpty().isSubsetOf(TlsGroups.NAMED_GROUPS);
            assertListedInTheSecurityDoc(s);
            server.close().sync();
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        }
    }

    /** Every suite and group the scanner saw is named on the security doc's TLS parameters line. */
    private static void assertListedInTheSecurityDoc(Scan s) throws IOException {
        String line = Files.readAllLines(SECURITY_DOC, StandardCharsets.UTF_8).stream()
                .filter(l -> l.startsWith("**TLS parameters**"))
                .findFirst()
                .orElseThrow();
        for (String name : s.suites()) {
            assertThat(line).as("suite %s in docs/security.md", name).contains("`" + name + "`");
        }
        for (String name : s.groups()) {
            assertThat(line).as("group %s in docs/security.md", name).contains("`" + name + "`");
        }
    }

    private static String sslscanOrSkip() {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, "sslscan");
            if (Files.isExecutable(p)) {
                return p.toString();
            }
        }
        boolean ci = "true".equalsIgnoreCase(System.getenv("CI"));
        assertThat(ci)
                .as("sslscan is not installed (scripts/install-test-deps.sh installs it); CI must run this test")
                .isFalse();
        Assumptions.abort("sslscan is not installed (scripts/install-test-deps.sh installs it)");
        return null;
    }

    private static Scan scan(String sslscan, int port) throws Exception {
        Process p = new ProcessBuilder(List.of(sslscan, "--no-colour", "--xml=-", "127.0.0.1:" + port))
                .redirectErrorStream(false)
                .start();
        try {
            byte[] out;
            try (var in = p.getInputStream()) {
                out = in.readAllBytes(); // ends when sslscan exits; the timeout below bounds a hung scan
            }
            assertThat(p.waitFor(SCAN_TIMEOUT_SECONDS, TimeUnit.SECONDS))
                    .as("sslscan finished")
                    .isTrue();
            String text = new String(out, StandardCharsets.UTF_8);
            int start = text.indexOf("<?xml");
            assertThat(start).as(text).isNotNegative();
            Document doc = DocumentBuilderFactory.newInstance()
                    .newDocumentBuilder()
                    .parse(new ByteArrayInputStream(text.substring(start).getBytes(StandardCharsets.UTF_8)));
            Set<String> protocols = new LinkedHashSet<>();
            NodeList ps = doc.getElementsByTagName("protocol");
            for (int i = 0; i < ps.getLength(); i++) {
                Element e = (Element) ps.item(i);
                if ("1".equals(e.getAttribute("enabled"))) {
                    protocols.add(e.getAttribute("type")
                                    .toUpperCase(java.util.Locale.ROOT)
                                    .replace("TLS", "TLSv")
                            + e.getAttribute("version"));
                }
            }
            Set<String> suites = new LinkedHashSet<>();
            NodeList cs = doc.getElementsByTagName("cipher");
            for (int i = 0; i < cs.getLength(); i++) {
                suites.add(((Element) cs.item(i)).getAttribute("cipher"));
            }
            Set<String> groups = new LinkedHashSet<>();
            NodeList gs = doc.getElementsByTagName("group");
            for (int i = 0; i < gs.getLength(); i++) {
                groups.add(((Element) gs.item(i)).getAttribute("name").split(" ")[0]);
            }
            return new Scan(protocols, suites, groups, text);
        } finally {
            p.destroyForcibly();
        }
    }
}
