package dev.burrow.agent.direct;

import dev.burrow.identity.NodeIdentity;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the node's Ed25519 key and current chain to BoringSSL. Netty's QUIC certificate callback
 * asks for key types derived from TLS 1.2 auth methods ("EC", "RSA", ...) and has no name for
 * Ed25519, so this manager answers every key type with the node key (it is the only key there is;
 * the signature algorithm list in {@link DirectTls} limits the handshake to Ed25519). It reads the
 * identity on every handshake, so a certificate installed after enrolment is used at once.
 */
final class DirectKeyManager extends X509ExtendedKeyManager {
    static final String ALIAS = "burrow-node";
    private final NodeIdentity identity;

    DirectKeyManager(NodeIdentity identity) {
        this.identity = identity;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return ALIAS;
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return ALIAS;
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return new String[] {ALIAS};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return ALIAS;
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return ALIAS;
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
        return ALIAS.equals(alias) ? identity.certificateChain().toArray(X509Certificate[]::new) : null;
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
        return ALIAS.equals(alias) ? identity.privateKey() : null;
    }
}
