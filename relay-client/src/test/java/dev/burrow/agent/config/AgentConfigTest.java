package dev.burrow.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.relay.RelayCandidate;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.TestIdentities;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class AgentConfigTest {
    static final NodeKey ALICE = TestIdentities.randomNodeKey();

    static String full() {
        return """
                relay:
                  url: https://relay.example.com:8443
                  fingerprint: sha256:%s
                  mode: upgrade
                fleet-ca: [ca.pem]
                peers:
                  alice: %s
                expose:
                  - name: web
                    target: 127.0.0.1:8080
                    allow: [name:bob, tag:dev]
                    max-connections: 10
                    max-per-peer: 2
                    idle-timeout: 30s
                  - name: ssh
                    target: "[::1]:22"
                    allow: node:%s
                forward:
                  - peer: alice
                    service: web
                    listen: 9000
                  - peer: %s
                    service: db
                    listen: 127.0.0.1:5433
                    max-connections: 5
                """.formatted("ab".repeat(32), ALICE.nodeId(), ALICE.nodeId(), ALICE.nodeId());
    }

    @Test
    void parsesEverything() {
        AgentConfig c = AgentConfig.parse(full(), Path.of("/etc/burrow"));
        assertThat(c.relay().url().toString()).isEqualTo("https://relay.example.com:8443");
        assertThat(c.relay().mode()).isEqualTo("upgrade");
        assertThat(c.fleetCas()).containsExactly(Path.of("/etc/burrow/ca.pem"));
        assertThat(c.exposes()).hasSize(2);
        AgentConfig.Expose web = c.exposes().get(0);
        assertThat(web.target().port()).isEqualTo(8080);
        assertThat(web.allow().texts()).containsExactly("name:bob", "tag:dev");
        assertThat(web.maxConnections()).isEqualTo(10);
        assertThat(web.maxPerPeer()).isEqualTo(2);
        assertThat(web.idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.exposes().get(1).target().host()).isEqualTo("::1");
        assertThat(c.forwards()).hasSize(2);
        assertThat(c.forwards().get(0).listenHost()).isEqualTo("127.0.0.1");
        assertThat(c.forwards().get(0).listenPort()).isEqualTo(9000);
        assertThat(c.resolvePeer("alice")).isEqualTo(ALICE);
        assertThat(c.resolvePeer(c.forwards().get(1).peer())).isEqualTo(ALICE);
        assertThat(c.forwards().get(1).maxConnections()).isEqualTo(5);
    }

    @Test
    void emptyFileIsAnEmptyConfig() {
        AgentConfig c = AgentConfig.parse("", null);
        assertThat(c.exposes()).isEmpty();
        assertThat(c.relay()).isNull();
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "65536", "-1", "4294967296", "99999999", "80x"})
    void forwardPortsOutsideTheRangeAreRejectedAtParseTime(String port) {
        String yaml = "forward:\n  - peer: " + ALICE.nodeId() + "\n    service: web\n    listen: " + port + "\n";
        assertThatThrownBy(() -> AgentConfig.parse(yaml, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("forward[0].listen");
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:-1", "localhost"})
    void targetPortsOutsideTheRangeAreRejectedAtParseTime(String target) {
        String yaml = "expose:\n  - name: web\n    target: \"" + target + "\"\n    allow: [tag:x]\n";
        assertThatThrownBy(() -> AgentConfig.parse(yaml, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expose[0].target");
    }

    @Test
    void plainCircuitsIsOnByDefaultAndCanBeTurnedOff() {
        assertThat(AgentConfig.parse("", Path.of(".")).plainCircuits()).isTrue();
        assertThat(AgentConfig.parse("tls: {plain-circuits: true}", Path.of("."))
                        .plainCircuits())
                .isTrue();
        AgentConfig off = AgentConfig.parse("tls:\n  plain-circuits: false\n", Path.of("."));
        assertThat(off.plainCircuits()).isFalse();
        assertThat(off.withRelay(null).plainCircuits())
                .as("kept across a relay override")
                .isFalse();
        assertThatThrownBy(() -> AgentConfig.parse("tls: {plain-circuits: nope}", Path.of(".")))
                .hasMessageContaining("tls.plain-circuits");
        assertThatThrownBy(() -> AgentConfig.parse("tls: {plain-circuit: false}", Path.of(".")))
                .hasMessageContaining("tls.plain-circuit");
        assertThatThrownBy(() -> AgentConfig.parse("tls: [false]", Path.of(".")))
                .hasMessageContaining("tls");
    }

    @Test
    void mistakesNameTheirKey() {
        assertError("expose:\n  - name: Web\n    target: 80\n    allow: [tag:x]\n", "expose[0].name");
        assertError("expose:\n  - name: web\n    target: 80\n", "expose[0].allow");
        assertError("expose:\n  - name: web\n    target: 80\n    allow: []\n", "expose[0].allow");
        assertError("expose:\n  - name: web\n    target: 80\n    allow: [group:x]\n", "expose[0].allow");
        assertError(
                "expose:\n  - name: web\n    target: 80\n    allow: [tag:x]\n    max-connections: 0\n",
                "max-connections");
        assertError(
                "expose:\n  - name: web\n    target: 80\n    allow: [tag:x]\n    idle-timeout: soon\n", "idle-timeout");
        assertError(
                "expose:\n  - name: web\n    target: 80\n    allow: [tag:x]\n    colour: blue\n", "expose[0].colour");
        assertError(
                "expose:\n  - {name: web, target: 80, allow: [tag:x]}\n  - {name: web, target: 81, allow: [tag:x]}\n",
                "twice");
        assertError("forward:\n  - peer: carol\n    service: web\n    listen: 9000\n", "forward[0].peer");
        assertError("forward:\n  - peer: " + ALICE.nodeId() + "\n    service: web\n", "forward[0].listen");
        assertError(
                "forward:\n  - {peer: " + ALICE.nodeId() + ", service: a, listen: 9000}\n  - {peer: " + ALICE.nodeId()
                        + ", service: b, listen: 9000}\n",
                "used twice");
        assertError("peers:\n  alice: nope\n", "peers.alice");
        assertError("relay:\n  url: http://relay\n", "relay");
        assertError("relay:\n  fingerprint: md5:00\n", "relay");
        assertError("surprise: 1\n", "surprise");
        assertError("expose: [\n", "YAML");
    }

    @Test
    void aForwardByNameNeedsAFleetCa() {
        assertError("forward:\n  - peer: carol\n    service: web\n    listen: 9000\n", "trust a fleet CA");
        assertError(
                "fleet-ca: [ca.pem]\nforward:\n  - peer: Carol!\n    service: web\n    listen: 9000\n",
                "forward[0].peer");
        AgentConfig c = AgentConfig.parse(
                "fleet-ca: [ca.pem]\npeers:\n  alice: " + ALICE.nodeId()
                        + "\nforward:\n  - peer: carol\n    service: web\n    listen: 9000\n",
                Path.of("/etc/burrow"));
        assertThat(c.peerRef("carol")).isEqualTo(new AgentConfig.PeerRef.Name("carol"));
        assertThat(c.peerRef("alice")).isEqualTo(new AgentConfig.PeerRef.Key(ALICE)); // an alias wins over a name
        assertThat(c.peerRef(ALICE.nodeId())).isEqualTo(new AgentConfig.PeerRef.Key(ALICE));
        assertThatThrownBy(() -> c.resolvePeer("carol")).hasMessageContaining("node name");
    }

    @Test
    void durations() {
        assertThat(AgentConfig.parseDuration("500ms")).isEqualTo(Duration.ofMillis(500));
        assertThat(AgentConfig.parseDuration("2h")).isEqualTo(Duration.ofHours(2));
        assertThat(AgentConfig.parseDuration("off")).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> AgentConfig.parseDuration("5 minutes")).isInstanceOf(IllegalArgumentException.class);
    }

    static void assertError(String yaml, String mentions) {
        assertThatThrownBy(() -> AgentConfig.parse(yaml, null))
                .as(yaml)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(mentions);
    }

    @Test
    void unusedListIsFine() {
        assertThat(AgentConfig.parse("expose: []\nforward: []\n", null).forwards())
                .isEqualTo(List.of());
    }

    @Test
    void publicIngressIsOptInWithExplicitSources() {
        AgentConfig c = AgentConfig.parse("""
                expose:
                  - name: hook
                    target: 127.0.0.1:8080
                    proxy-protocol: v2
                    public: {enabled: true, allow-sources: [203.0.113.0/24, "::/0"], max-connections: 8, idle-timeout: 30s}
                  - name: db
                    target: 127.0.0.1:5432
                    allow: [tag:dev]
                    public: {enabled: false}
                """, null);
        AgentConfig.Expose hook = c.exposes().get(0);
        assertThat(hook.proxyProtocol()).isEqualTo(dev.burrow.agent.caller.ProxyProtocol.V2);
        assertThat(hook.allow().rules()).isEmpty(); // a public-only service needs no peer allow list
        assertThat(hook.publicIngress().allowSources()).hasSize(2);
        assertThat(hook.publicIngress().maxConnections()).isEqualTo(8);
        assertThat(hook.publicIngress().idleTimeout()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.exposes().get(1).publicIngress()).isNull();
        assertThat(c.exposes().get(1).proxyProtocol()).isEqualTo(dev.burrow.agent.caller.ProxyProtocol.OFF);
        for (String bad : List.of(
                "public: {enabled: true}",
                "public: {enabled: true, allow-sources: []}",
                "public: {enabled: yes-please, allow-sources: [0.0.0.0/0]}",
                "public: {enabled: true, allow-sources: [example.com]}",
                "public: {enabled: true, allow-sources: [0.0.0.0/0], port: 80}",
                "public: {allow-sources: [0.0.0.0/0]}")) {
            assertThatThrownBy(() ->
                            AgentConfig.parse("expose:\n  - name: x\n    target: 127.0.0.1:1\n    " + bad + "\n", null))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("public");
        }
    }

    @Test
    void relaysAsAListShareTheTrustSettings() {
        AgentConfig c = AgentConfig.parse("""
                relay:
                  fingerprint: sha256:%s
                relays:
                  - https://a.example.com:8443
                  - wss://b.example.com
                """.formatted("ab".repeat(32)), null);
        assertThat(c.relay().fleet()).isTrue();
        assertThat(c.relay().url()).hasToString("https://a.example.com:8443");
        assertThat(c.relay().candidates())
                .extracting(r -> r.url().toString())
                .containsExactly("https://a.example.com:8443", "wss://b.example.com");
        assertThat(c.relay().candidates()).extracting(RelayCandidate::region).containsOnlyNulls();
        assertThat(c.relay().fingerprint()).isEqualTo("sha256:" + "ab".repeat(32));
    }

    @Test
    void relaysAsARegionMap() {
        AgentConfig c = AgentConfig.parse("""
                relays:
                  eu-west: [https://a.example.com, https://b.example.com]
                  us: https://c.example.com
                """, null);
        assertThat(c.relay().candidates())
                .extracting(RelayCandidate::toString)
                .containsExactly(
                        "eu-west=https://a.example.com", "eu-west=https://b.example.com", "us=https://c.example.com");
        assertThat(c.relay().mode()).isEqualTo("auto");
    }

    @Test
    void aSingleRelayUrlIsStillOneCandidate() {
        AgentConfig c = AgentConfig.parse("relay:\n  url: https://relay.example.com\n", null);
        assertThat(c.relay().fleet()).isFalse();
        assertThat(c.relay().candidates())
                .extracting(r -> r.url().toString())
                .containsExactly("https://relay.example.com");
    }

    @Test
    void badRelayListsAreRejectedWithTheKey() {
        assertError(
                "relay:\n  url: https://a.example.com\nrelays: [https://b.example.com]\n",
                "either relay.url or relays");
        assertError("relays: []\n", "relays: empty");
        assertError("relays: [https://a.example.com, https://a.example.com]\n", "listed twice");
        assertError("relays: [http://a.example.com]\n", "relays");
        assertError("relays:\n  EU: [https://a.example.com]\n", "region 'EU'");
        assertError("relays:\n  eu: [{url: https://a.example.com}]\n", "relays.eu");
        StringBuilder many = new StringBuilder("relays:\n");
        for (int i = 0; i <= AgentConfig.Relay.MAX_RELAYS; i++) {
            many.append("  - https://r").append(i).append(".example.com\n");
        }
        assertError(many.toString(), "at most " + AgentConfig.Relay.MAX_RELAYS);
    }
}
