package dev.burrow.identity.tls;

import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.VerifiedPeer;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

/**
 * Netty {@link SslContext}s for node-to-node mutual TLS: TLS 1.3 only, JDK provider, both sides
 * present their Ed25519 node certificate and judge the other with {@link NodeVerifier}.
 *
 * <p>After the handshake, call {@link #verifiedPeer(SslHandler, NodeVerifier, NodeKey)}: it
 * verifies the session's peer certificate again (also covering resumed sessions, where the trust
 * manager is not consulted) and returns the {@link VerifiedPeer}.
 */
public final class NodeTls {
    /** The only protocol version used between nodes. */
    public static final String PROTOCOL = "TLSv1.3";
    /**
     * TLS 1.3 suites in order of preference. AES-128-GCM first: it is the suite every TLS 1.3
     * stack must offer, 128-bit security is what the X25519 key exchange gives anyway, and it does
     * 10 AES rounds per block where AES-256 does 14, on the path that carries every byte of a
     * forwarded connection (the JDK would otherwise pick AES-256-GCM). ChaCha20 stays for peers
     * without AES instructions.
     */
    public static final List<String> CIPHER_SUITES =
            List.of("TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_256_GCM_SHA384");

    private NodeTls() {}

    /** The accepting side: requires a client certificate; key exchange limited to {@link TlsGroups#NAMED_GROUPS}. */
    public static SslContext server(NodeIdentity identity, NodeVerifier verifier) throws SSLException {
        return TlsGroups.restrict(SslContextBuilder.forServer(new NodeKeyManager(identity))
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .ciphers(CIPHER_SUITES)
                .clientAuth(ClientAuth.REQUIRE)
                .trustManager(new NodeTrustManager(verifier, null))
                .build());
    }

    /**
     * The dialling side.
     *
     * @param expectedPeerOrNull the node being dialled: the handshake fails unless the server's
     *     certificate is for this key (and a self-signed certificate for exactly this key is trusted)
     */
    public static SslContext client(NodeIdentity identity, NodeVerifier verifier, NodeKey expectedPeerOrNull)
            throws SSLException {
        return SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .ciphers(CIPHER_SUITES)
                .keyManager(new NodeKeyManager(identity))
                .trustManager(new NodeTrustManager(verifier, expectedPeerOrNull))
                .endpointIdentificationAlgorithm(null) // identity is the node key, not a host name
                .build();
    }

    /**
     * The verified peer of a completed handshake.
     *
     * @throws SSLPeerUnverifiedException when there is no peer certificate
     * @throws PeerVerificationException when it does not verify (e.g. revoked since)
     */
    public static VerifiedPeer verifiedPeer(SslHandler handler, NodeVerifier verifier, NodeKey expectedOrNull)
            throws SSLPeerUnverifiedException, PeerVerificationException {
        return verifiedPeer(handler.engine().getSession(), verifier, expectedOrNull);
    }

    /** {@link #verifiedPeer(SslHandler, NodeVerifier, NodeKey)} for a session. */
    public static VerifiedPeer verifiedPeer(SSLSession session, NodeVerifier verifier, NodeKey expectedOrNull)
            throws SSLPeerUnverifiedException, PeerVerificationException {
        Certificate[] certs = session.getPeerCertificates();
        X509Certificate[] chain = new X509Certificate[certs.length];
        for (int i = 0; i < certs.length; i++) {
            if (!(certs[i] instanceof X509Certificate x)) {
                throw new SSLPeerUnverifiedException("peer certificate is not X.509");
            }
            chain[i] = x;
        }
        return verifier.verify(chain, expectedOrNull);
    }

    /** The peer recorded by the trust manager during this session's full handshake, or null. */
    public static VerifiedPeer recordedPeer(SSLSession session) {
        return session.getValue(NodeTrustManager.SESSION_ATTRIBUTE) instanceof VerifiedPeer p ? p : null;
    }
}
