package dev.burrow.identity.tls;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.VerifiedPeer;
import java.net.Socket;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A TLS trust manager that only asks {@link NodeVerifier}. Extending {@link X509ExtendedTrustManager}
 * keeps the JDK from adding host name checks: node certificates are identified by node key, not
 * by host name. The verified peer is stored on the handshake session under {@link #SESSION_ATTRIBUTE}.
 */
public final class NodeTrustManager extends X509ExtendedTrustManager {
    /** SSLSession value name holding the {@link VerifiedPeer} of the handshake. */
    public static final String SESSION_ATTRIBUTE = "dev.burrow.identity.verifiedPeer";

    private final NodeVerifier verifier;
    private final NodeKey expectedOrNull;

    public NodeTrustManager(NodeVerifier verifier, NodeKey expectedOrNull) {
        this.verifier = verifier;
        this.expectedOrNull = expectedOrNull;
    }

    private void check(X509Certificate[] chain, SSLSession handshakeSession) throws CertificateException {
        VerifiedPeer peer = verifier.verify(chain, expectedOrNull);
        if (handshakeSession != null) {
            handshakeSession.putValue(SESSION_ATTRIBUTE, peer);
        }
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain, engine == null ? null : engine.getHandshakeSession());
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain, null);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, null);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain, null);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
