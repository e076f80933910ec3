package dev.burrow.identity.tls;

import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.Pem;
import dev.burrow.identity.SecureFiles;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * TLS for the connection between an agent and a relay: the relay shows an ordinary server
 * certificate (ECDSA, RSA or Ed25519, e.g. cert-manager's {@code tls.crt}/{@code tls.key}); node
 * identity is proven inside TLS with {@code RelayAuthProof}. TLS 1.3 only, JDK provider.
 *
 * <p>Clients trust the relay by the system trust store (with host name verification), by a CA PEM
 * file (with host name verification), or by a pinned SHA-256 certificate fingerprint
 * ({@code sha256:<hex>}, no host name check: the pin is the identity), as used with
 * {@link #devSelfSigned}.
 */
public final class RelayTls {
    private static final Logger log = LoggerFactory.getLogger(RelayTls.class);

    public static final String PROTOCOL = "TLSv1.3";
    /** Validity of a generated development certificate. */
    public static final Duration DEV_CERT_VALIDITY = Duration.ofDays(365);

    public static final String DEV_KEY_FILE = "relay-dev.key";
    public static final String DEV_CERT_FILE = "relay-dev.crt";

    private RelayTls() {}

    /** A relay server certificate and key, with the certificate's fingerprint. */
    public record ServerCredentials(PrivateKey key, List<X509Certificate> chain, String fingerprint) {
        public ServerCredentials {
            chain = List.copyOf(chain);
        }

        /** The Netty server context for these credentials. */
        public SslContext sslContext() throws SSLException {
            return server(key, chain);
        }

        @Override
        public String toString() {
            return "ServerCredentials[" + chain.get(0).getSubjectX500Principal() + " " + fingerprint + "]";
        }
    }

    /** Loads a certificate chain and private key from PEM files. */
    public static ServerCredentials loadPem(Path certChainPem, Path keyPem) throws IOException {
        List<X509Certificate> chain;
        try {
            chain = Pem.readCertificates(certChainPem);
        } catch (CertificateException e) {
            throw new IOException(certChainPem + ": " + e.getMessage(), e);
        }
        if (SecureFiles.accessibleByOthers(keyPem)) {
            // Not refused: Kubernetes mounts Secrets 0644 unless defaultMode says otherwise.
            log.warn(
                    "relay TLS key {} is readable by other users; restrict it (chmod 600, or defaultMode: 0400 on the Secret volume)",
                    keyPem);
        }
        PrivateKey key = Pem.readPrivateKey(keyPem);
        return new ServerCredentials(key, chain, NodeCertificate.fingerprint(chain.get(0)));
    }

    /** The relay's server context (key exchange limited to {@link TlsGroups#NAMED_GROUPS}). */
    public static SslContext server(PrivateKey key, List<X509Certificate> chain) throws SSLException {
        return TlsGroups.restrict(SslContextBuilder.forServer(key, chain)
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .build());
    }

    /**
     * Development mode: a self-signed ECDSA P-256 certificate for {@code hostNames} (plus localhost
     * and loopback addresses). When {@code dirOrNull} is given the key and certificate are kept
     * there (0600) and reused, so the fingerprint stays the same across restarts. The fingerprint is
     * logged for clients to pin with {@code --relay-fingerprint}.
     */
    public static ServerCredentials devSelfSigned(Path dirOrNull, List<String> hostNames) throws IOException {
        if (dirOrNull != null
                && Files.exists(dirOrNull.resolve(DEV_KEY_FILE))
                && Files.exists(dirOrNull.resolve(DEV_CERT_FILE))) {
            ServerCredentials c = loadPem(dirOrNull.resolve(DEV_CERT_FILE), dirOrNull.resolve(DEV_KEY_FILE));
            if (c.chain().get(0).getNotAfter().toInstant().isAfter(Instant.now().plus(Duration.ofDays(1)))) {
                log.warn(
                        "relay uses a development certificate; clients pin it with --relay-fingerprint {}",
                        c.fingerprint());
                return c;
            }
        }
        ServerCredentials c = generateDev(hostNames);
        if (dirOrNull != null) {
            SecureFiles.ensurePrivateDir(dirOrNull);
            SecureFiles.writeAtomically(
                    dirOrNull.resolve(DEV_KEY_FILE),
                    Pem.encodePrivateKey(c.key()).getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.SECRET_PERMS);
            SecureFiles.writeAtomically(
                    dirOrNull.resolve(DEV_CERT_FILE),
                    Pem.encodeCertificates(c.chain()).getBytes(StandardCharsets.US_ASCII),
                    SecureFiles.PUBLIC_PERMS);
        }
        log.warn(
                "relay uses a new development certificate; clients pin it with --relay-fingerprint {}",
                c.fingerprint());
        return c;
    }

    private static ServerCredentials generateDev(List<String> hostNames) {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            KeyPair kp = g.generateKeyPair();
            List<GeneralName> names = new ArrayList<>();
            names.add(new GeneralName(GeneralName.dNSName, "localhost"));
            names.add(new GeneralName(GeneralName.iPAddress, "127.0.0.1"));
            names.add(new GeneralName(GeneralName.iPAddress, "::1"));
            String cn = "burrow-relay-dev";
            for (String h : hostNames == null ? List.<String>of() : hostNames) {
                if (h == null || h.isBlank()) {
                    continue;
                }
                // Only literals count as addresses (getByName never resolves them); anything else is a DNS name.
                boolean ip = h.contains(":") || h.matches("\\d{1,3}(\\.\\d{1,3}){3}");
                names.add(
                        ip
                                ? new GeneralName(
                                        GeneralName.iPAddress,
                                        InetAddress.getByName(h).getHostAddress())
                                : new GeneralName(GeneralName.dNSName, h.toLowerCase(Locale.ROOT)));
            }
            Instant now = Instant.now();
            var subject = NodeCertificate.cn(cn);
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(
                    subject,
                    NodeCertificate.randomSerial(),
                    Date.from(now.minus(Duration.ofMinutes(5))),
                    Date.from(now.plus(DEV_CERT_VALIDITY)),
                    subject,
                    SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth));
            b.addExtension(
                    Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
            return new ServerCredentials(kp.getPrivate(), List.of(cert), NodeCertificate.fingerprint(cert));
        } catch (GeneralSecurityException | IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create a development certificate", e);
        }
    }

    /**
     * A client context trusting the system trust store, with host name verification. Create
     * handlers with {@code newHandler(alloc, host, port)} so the host name is checked (and sent as SNI).
     */
    public static SslContext clientSystemTrust() throws SSLException {
        return SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .endpointIdentificationAlgorithm("HTTPS")
                .build();
    }

    /** A client context trusting the CA certificates in a PEM file, with host name verification. */
    public static SslContext clientTrustingCaPem(Path caPem) throws IOException {
        List<X509Certificate> cas;
        try {
            cas = Pem.readCertificates(caPem);
        } catch (CertificateException e) {
            throw new IOException(caPem + ": " + e.getMessage(), e);
        }
        return SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .trustManager(cas)
                .endpointIdentificationAlgorithm("HTTPS")
                .build();
    }

    /**
     * A client context that trusts exactly the server certificate with this fingerprint
     * ({@code sha256:<64 hex>}; colons and upper case are accepted).
     */
    public static SslContext clientPinned(String fingerprint) throws SSLException {
        byte[] pin = parseFingerprint(fingerprint);
        return SslContextBuilder.forClient()
                .sslProvider(SslProvider.JDK)
                .protocols(PROTOCOL)
                .trustManager(new FingerprintTrustManager(pin))
                .endpointIdentificationAlgorithm(null) // the pin is the identity
                .build();
    }

    /**
     * Parses {@code sha256:<hex>} into 32 bytes.
     *
     * @throws IllegalArgumentException with the expected form
     */
    public static byte[] parseFingerprint(String text) {
        String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        if (!t.startsWith("sha256:")) {
            throw new IllegalArgumentException("a relay fingerprint looks like sha256:<64 hex digits>");
        }
        String hex = t.substring("sha256:".length()).replace(":", "");
        if (hex.length() != 64 || !hex.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("a relay fingerprint looks like sha256:<64 hex digits>");
        }
        return HexFormat.of().parseHex(hex);
    }

    /** Formats 32 digest bytes as {@code sha256:<hex>}. */
    public static String formatFingerprint(byte[] sha256) {
        return "sha256:" + HexFormat.of().formatHex(sha256);
    }
}
