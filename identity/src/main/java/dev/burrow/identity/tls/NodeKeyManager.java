package dev.burrow.identity.tls;

import dev.burrow.identity.NodeIdentity;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;

/**
 * Presents the node's Ed25519 key and current certificate chain. Reads the identity on every
 * handshake, so a certificate installed after enrolment is used without rebuilding contexts.
 */
final class NodeKeyManager extends X509ExtendedKeyManager {
    static final String ALIAS = "burrow-node";

    private final NodeIdentity identity;

    NodeKeyManager(NodeIdentity identity) {
        this.identity = identity;
    }

    private static String aliasFor(String keyType) {
        return keyType != null && (keyType.equalsIgnoreCase("EdDSA") || keyType.equalsIgnoreCase("Ed25519"))
                ? ALIAS
                : null;
    }

    private static String aliasFor(String[] keyTypes) {
        if (keyTypes != null) {
            for (String k : keyTypes) {
                if (aliasFor(k) != null) {
                    return ALIAS;
                }
            }
        }
        return null;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
        return aliasFor(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
        return aliasFor(keyType) == null ? null : new String[] {ALIAS};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
        return aliasFor(keyType);
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
        return aliasFor(keyType);
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
