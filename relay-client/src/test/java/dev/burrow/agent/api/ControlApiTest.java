package dev.burrow.agent.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.burrow.agent.Agent;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.AgentStatus;
import dev.burrow.agent.ConfigWatcher;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The local control API and hot reload, with an agent whose relay is unreachable (status must work
 * exactly then: it is when people look).
 */
class ControlApiTest {
    @TempDir
    Path tmp;

    Agent agent;
    ControlApiServer api;

    static final String RELAY = "relay:\n  url: https://127.0.0.1:1\n  fingerprint: sha256:" + "00".repeat(32) + "\n";

    @BeforeEach
    void start() throws Exception {
        Path state = tmp.resolve("state");
        Files.writeString(tmp.resolve("agent.yaml"), RELAY + "expose:\n  - {name: web, target: 127.0.0.1:8080, allow: [tag:dev]}\n");
        agent = Agent.start(AgentConfig.load(tmp.resolve("agent.yaml")), NodeIdentity.loadOrCreate(state), Transport.nio());
        api = ControlApiServer.start(agent, state, 0);
    }

    @AfterEach
    void stop() {
        if (api != null) {
            api.close();
        }
        if (agent != null) {
            agent.close();
        }
    }

    @Test
    void statusAndReadinessOverTheApi() throws Exception {
        Path state = tmp.resolve("state");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state.resolve(ControlApi.TOKEN_FILE))))
                .isEqualTo("rw-------");
        ControlApiClient client = ControlApiClient.forStateDir(state);
        AgentStatus s = client.status();
        assertThat(s.nodeId()).isEqualTo(agent.identity().nodeKey().nodeId());
        assertThat(s.services()).extracting(AgentStatus.ServiceStatus::name).containsExactly("web");
        assertThat(s.relay().state()).isNotEqualTo("connected");
        assertThat(s.ready()).isFalse();
        ControlApiClient.Response ready = client.ready();
        assertThat(ready.status()).isEqualTo(503);
        assertThat(ready.body().path("problem").asText()).startsWith("relay");
    }

    @Test
    void requestsWithoutTheTokenAreRefused() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        URI status = URI.create("http://127.0.0.1:" + api.port() + ControlApi.STATUS_PATH);
        HttpResponse<String> none = http.send(HttpRequest.newBuilder(status).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(none.statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = http.send(HttpRequest.newBuilder(status).header("Authorization", "Bearer " + "0".repeat(64))
                .GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(wrong.statusCode()).isEqualTo(401);
        assertThat(wrong.body()).doesNotContain(Files.readString(tmp.resolve("state").resolve(ControlApi.TOKEN_FILE)));
    }

    @Test
    void noAgentMeansAClearError() {
        assertThatThrownBy(() -> ControlApiClient.forStateDir(tmp.resolve("elsewhere"))).isInstanceOf(IOException.class)
                .hasMessageContaining("no running agent");
    }

    @Test
    void theConfigurationIsReloadedWhenTheFileChangesAndABadFileKeepsTheRunningOne() throws Exception {
        Path file = tmp.resolve("agent.yaml");
        try (ConfigWatcher watcher = new ConfigWatcher(file, agent, c -> c)) {
            Files.writeString(file, RELAY + "expose:\n  - {name: web, target: 127.0.0.1:8080, allow: [tag:dev]}\n"
                    + "  - {name: db, target: 127.0.0.1:5432, allow: [name:bob]}\n", StandardCharsets.UTF_8);
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.status().services().size() == 2);
            Files.writeString(file, RELAY + "expose:\n  - {name: web, target: 127.0.0.1:0, allow: [tag:dev]}\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.status().configError() != null);
            assertThat(agent.status().configError()).contains("expose[0].target");
            assertThat(agent.status().services()).extracting(AgentStatus.ServiceStatus::name).containsExactlyInAnyOrder("web", "db");
            Files.writeString(file, RELAY + "expose:\n  - {name: ssh, target: 127.0.0.1:22, allow: [tag:ops]}\n");
            await().atMost(Duration.ofSeconds(20)).until(() -> agent.status().services().stream()
                    .map(AgentStatus.ServiceStatus::name).toList().equals(List.of("ssh")));
            assertThat(agent.status().configError()).isNull();
        }
    }
}
