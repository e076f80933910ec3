package dev.burrow.agent.direct;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.tls.NodeTrustManager;
import io.netty.handler.codec.quic.BoringSSLContextOption;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.ssl.ClientAuth;

/**
 * TLS for the direct QUIC path (BoringSSL inside quiche): TLS 1.3 (QUIC has no other), Ed25519 node
 * certificates on both sides, and the peer judged by the same {@link NodeVerifier} as every other
 * node-to-node connection, through {@link NodeTrustManager}.
 *
 * <p>BoringSSL does not offer Ed25519 in its default signature algorithm list; it is enabled
 * explicitly (and only it: node certificates are always Ed25519).
 */
public final class DirectTls {
    /**
     * ALPN of the direct path; a peer speaking anything else fails the handshake (and the pair
     * keeps using the relay). Version 2: streams carry OPEN in the clear right after their header,
     * no TLS inside them (version 1 ran a full TLS handshake inside every stream); the two cannot
     * parse each other's streams, so they never connect.
     */
    public static final String ALPN = "burrow-direct/2";
    /** Node keys are Ed25519, so that is the only signature scheme offered and accepted. */
    static final String[] SIGNATURE_ALGORITHMS = {"ed25519"};

    private DirectTls() {}

    /** The accepting side: requires the client's node certificate. */
    public static QuicSslContext server(NodeIdentity identity, NodeVerifier handshakeVerifier) {
        return QuicSslContextBuilder.forServer(new DirectKeyManager(identity), null)
                .trustManager(new NodeTrustManager(handshakeVerifier, null))
                .clientAuth(ClientAuth.REQUIRE)
                .applicationProtocols(ALPN)
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, SIGNATURE_ALGORITHMS)
                .earlyData(false)
                .build();
    }

    /** The dialling side: the server's certificate must be for exactly {@code expectedPeer}. */
    public static QuicSslContext client(NodeIdentity identity, NodeVerifier verifier, NodeKey expectedPeer) {
        return QuicSslContextBuilder.forClient()
                .keyManager(new DirectKeyManager(identity), null)
                .trustManager(new NodeTrustManager(verifier, expectedPeer))
                .applicationProtocols(ALPN)
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, SIGNATURE_ALGORITHMS)
                .earlyData(false)
                .build();
    }
}
