package dev.burrow.identity.tls;

import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedTrustManager;

/** Trusts exactly one server certificate, by SHA-256 of its DER encoding (constant-time comparison). */
final class FingerprintTrustManager extends X509ExtendedTrustManager {
    private final byte[] pin;

    FingerprintTrustManager(byte[] pin) {
        this.pin = pin.clone();
    }

    private void check(X509Certificate[] chain) throws CertificateException {
        if (chain == null || chain.length == 0) {
            throw new CertificateException("no server certificate");
        }
        byte[] actual;
        try {
            actual = MessageDigest.getInstance("SHA-256").digest(chain[0].getEncoded());
        } catch (NoSuchAlgorithmException e) {
            throw new CertificateException(e);
        }
        if (!MessageDigest.isEqual(actual, pin)) {
            throw new CertificateException("relay certificate fingerprint " + RelayTls.formatFingerprint(actual)
                    + " does not match the pinned fingerprint");
        }
        long now = System.currentTimeMillis();
        if (chain[0].getNotAfter().getTime() < now) {
            throw new CertificateException("pinned relay certificate expired at "
                    + chain[0].getNotAfter().toInstant());
        }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        check(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        check(chain);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
            throws CertificateException {
        throw new CertificateException("client certificates are not used with a pinned relay");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
            throws CertificateException {
        throw new CertificateException("client certificates are not used with a pinned relay");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw new CertificateException("client certificates are not used with a pinned relay");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return new X509Certificate[0];
    }
}
