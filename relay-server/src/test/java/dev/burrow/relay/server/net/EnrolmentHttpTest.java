package dev.burrow.relay.server.net;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.enrol.EnrolmentMessages;
import dev.burrow.identity.enrol.EnrolmentService;
import dev.burrow.identity.token.JoinTokenStore;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.relay.server.RelayServer;
import dev.burrow.relay.server.testing.TestRelays;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** POST /v1/enrol on the public port, served by the identity module's {@link EnrolmentService}. */
class EnrolmentHttpTest {
    @Test
    void joinTokenBuysOneCertificate(@TempDir Path dir) throws Exception {
        FleetCa ca = FleetCa.init(dir, "fleet", Clock.systemUTC());
        JoinTokenStore tokens = JoinTokenStore.open(dir, Clock.systemUTC());
        String token = tokens.create(Set.of("prod"), 1, Duration.ofHours(1), null)
                .token()
                .reveal();
        EnrolmentService service = new EnrolmentService(ca, tokens, Duration.ofDays(1));
        try (RelayServer relay = TestRelays.startWith(RelayServer.builder(TestRelays.config(Map.of("tls.mode", "none")))
                .enrolment(EnrolmentEndpoints.of(service)))) {
            NodeIdentity node = NodeIdentity.ephemeral("node");
            byte[] body = EnrolmentMessages.encode(EnrolmentService.createRequest(node, token, "node"));
            HttpClient http = HttpClient.newHttpClient();
            HttpRequest req = HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + relay.address().getPort() + RelayProtocol.ENROL_PATH))
                    .timeout(Duration.ofSeconds(10))
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                    .build();
            HttpResponse<byte[]> first = http.send(req, HttpResponse.BodyHandlers.ofByteArray());
            assertThat(first.statusCode()).isEqualTo(200);
            List<X509Certificate> chain =
                    EnrolmentService.chainFrom(EnrolmentMessages.parseResponse(first.body()), node.nodeKey());
            assertThat(chain).isNotEmpty();
            assertThat(new String(first.body())).doesNotContain(token);

            HttpResponse<String> again = http.send(req, HttpResponse.BodyHandlers.ofString());
            assertThat(again.statusCode()).isEqualTo(403);
            assertThat(again.body()).doesNotContain(token);
        }
    }
}
