package dev.burrow.identity.tls;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.identity.testing.TestIdentities;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real TLS 1.3 handshakes between two Netty channels on loopback with Ed25519 node certificates. */
class NodeTlsTest {
    @TempDir
    Path tmp;

    @Test
    void mutualTlsWithCaIssuedEd25519Certificates() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity server = ids.node("server", "relay");
        NodeIdentity client = ids.node("client", "dev");
        NodeVerifier verifier = ids.verifier();
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(
                    NodeTls.server(server, verifier), NodeTls.client(client, verifier, server.nodeKey()));
            assertThat(r.ok())
                    .as("server: %s, client: %s", r.serverError(), r.clientError())
                    .isTrue();
            assertThat(r.client().engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
            assertThat(r.server().engine().getSession().getProtocol()).isEqualTo("TLSv1.3");

            VerifiedPeer seenByServer = NodeTls.verifiedPeer(r.server(), verifier, null);
            assertThat(seenByServer.nodeKey()).isEqualTo(client.nodeKey());
            assertThat(seenByServer.name()).isEqualTo("client");
            assertThat(seenByServer.tags()).containsExactly("dev");
            VerifiedPeer seenByClient = NodeTls.verifiedPeer(r.client(), verifier, server.nodeKey());
            assertThat(seenByClient.name()).isEqualTo("server");
            assertThat(NodeTls.recordedPeer(r.server().engine().getSession())).isEqualTo(seenByServer);
        }
    }

    @Test
    void keyOnlyModeWithPinnedKeys() throws Exception {
        NodeIdentity server = NodeIdentity.ephemeral("s");
        NodeIdentity client = NodeIdentity.ephemeral("c");
        NodeVerifier serverSide = NodeVerifier.builder().pin(client.nodeKey()).build();
        NodeVerifier clientSide = NodeVerifier.builder().build(); // trusts only the node it dials
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(
                    NodeTls.server(server, serverSide), NodeTls.client(client, clientSide, server.nodeKey()));
            assertThat(r.ok())
                    .as("server: %s, client: %s", r.serverError(), r.clientError())
                    .isTrue();
            VerifiedPeer p = NodeTls.verifiedPeer(r.server(), serverSide, null);
            assertThat(p.nodeKey()).isEqualTo(client.nodeKey());
            assertThat(p.caIssued()).isFalse();
            // AES-128-GCM, not the JDK's default AES-256: every forwarded byte pays for the choice.
            assertThat(r.server().engine().getSession().getCipherSuite()).isEqualTo("TLS_AES_128_GCM_SHA256");
            assertThat(r.client().engine().getSession().getCipherSuite()).isEqualTo("TLS_AES_128_GCM_SHA256");
            assertThat(p.name()).isNull();
        }
    }

    @Test
    void foreignCaClientIsRejected() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        TestIdentities foreign = TestIdentities.create(tmp, "foreign-ca");
        NodeIdentity server = ids.node("server");
        NodeIdentity mallory = foreign.node("mallory");
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(
                    NodeTls.server(server, ids.verifier()), NodeTls.client(mallory, foreign.verifier(), null));
            assertThat(r.ok()).isFalse();
            assertThat(r.serverError()).isNotNull();
        }
    }

    @Test
    void clientRefusesServerThatIsNotTheDialledNode() throws Exception {
        TestIdentities ids = TestIdentities.create(tmp);
        NodeIdentity server = ids.node("server");
        NodeIdentity client = ids.node("client");
        NodeIdentity expected = ids.node("expected");
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(
                    NodeTls.server(server, ids.verifier()), NodeTls.client(client, ids.verifier(), expected.nodeKey()));
            assertThat(r.ok()).isFalse();
            assertThat(r.clientError()).isNotNull();
        }
    }
}
