package dev.burrow.identity.ca;

import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.Pem;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fleet certificate authority: an Ed25519 key and a self-signed CA certificate that issues node
 * certificates.
 *
 * <p>CA directory (0700): {@value #KEY_FILE} (PKCS#8 PEM, 0600), {@value #CERT_FILE} (PEM, 0600 as
 * well; it is public, copy it to relays and nodes as their trust anchor). Join tokens live in the
 * same directory (see {@code JoinTokenStore}).
 */
public final class FleetCa {
    private static final Logger log = LoggerFactory.getLogger(FleetCa.class);

    public static final String KEY_FILE = "ca.key";
    public static final String CERT_FILE = "ca.crt";
    /** CA certificate validity. */
    public static final Duration CA_VALIDITY = Duration.ofDays(3650);
    /** Longest node certificate the CA issues: shorter lifetimes make revocation matter less. */
    public static final Duration MAX_NODE_VALIDITY = Duration.ofDays(825);
    /** Backdating of notBefore for clock skew. */
    public static final Duration CLOCK_SKEW = Duration.ofMinutes(5);
    /** The organisation attribute of every fleet CA name (node names cannot contain spaces, so they never collide). */
    public static final String CA_ORGANIZATION = "Burrow fleet CA";

    private final Path dir;
    private final PrivateKey key;
    private final X509Certificate certificate;
    private final byte[] keyId;
    private final X500Name subject;
    private final Clock clock;

    private FleetCa(Path dir, PrivateKey key, X509Certificate certificate, Clock clock) {
        this.dir = dir;
        this.key = key;
        this.certificate = certificate;
        this.clock = clock;
        NodeKey caKey = Ed25519Keys.fromPublicKey(certificate.getPublicKey());
        this.keyId = NodeCertificate.keyId(caKey.bytes());
        try {
            this.subject = new X509CertificateHolder(certificate.getEncoded()).getSubject();
        } catch (IOException | CertificateException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Creates a new CA in {@code dir}.
     *
     * @param name the CA's common name (a node-name-like label, e.g. {@code prod})
     * @throws IOException when a CA already exists there
     */
    public static FleetCa init(Path dir, String name, Clock clock) throws IOException {
        CertificateProfile.requireValidName(name);
        SecureFiles.ensurePrivateDir(dir);
        if (Files.exists(dir.resolve(KEY_FILE)) || Files.exists(dir.resolve(CERT_FILE))) {
            throw new IOException("a fleet CA already exists in " + dir);
        }
        KeyPair kp = Ed25519Keys.generate();
        NodeKey caKey = Ed25519Keys.fromPublicKey(kp.getPublic());
        X500Name subject = new X500NameBuilder(BCStyle.INSTANCE)
                .addRDN(BCStyle.O, CA_ORGANIZATION)
                .addRDN(BCStyle.CN, name)
                .build();
        Instant now = clock.instant();
        X509Certificate cert;
        try {
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(
                    subject,
                    NodeCertificate.randomSerial(),
                    Date.from(now.minus(CLOCK_SKEW)),
                    Date.from(now.plus(CA_VALIDITY)),
                    subject,
                    SubjectPublicKeyInfo.getInstance(kp.getPublic().getEncoded()));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
            b.addExtension(
                    Extension.subjectKeyIdentifier,
                    false,
                    new SubjectKeyIdentifier(NodeCertificate.keyId(caKey.bytes())));
            cert = new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder("Ed25519").build(kp.getPrivate())));
        } catch (CertIOException | OperatorCreationException | CertificateException e) {
            throw new IllegalStateException("cannot build CA certificate", e);
        }
        SecureFiles.createAtomically(
                dir.resolve(KEY_FILE),
                Pem.encodePrivateKey(kp.getPrivate()).getBytes(StandardCharsets.US_ASCII),
                SecureFiles.SECRET_PERMS); // never overwrites an existing CA key
        SecureFiles.writeAtomically(
                dir.resolve(CERT_FILE),
                Pem.encodeCertificates(List.of(cert)).getBytes(StandardCharsets.US_ASCII),
                SecureFiles.SECRET_PERMS);
        log.info("created fleet CA '{}' in {}", name, dir);
        return new FleetCa(dir, kp.getPrivate(), cert, clock);
    }

    /** Loads the CA from {@code dir}; refuses a key file other users can read. */
    public static FleetCa load(Path dir, Clock clock) throws IOException {
        Path keyFile = dir.resolve(KEY_FILE);
        Path certFile = dir.resolve(CERT_FILE);
        if (!Files.exists(keyFile) || !Files.exists(certFile)) {
            throw new IOException("no fleet CA in " + dir + " (create one with 'burrow ca init --ca-dir " + dir + "')");
        }
        SecureFiles.requireOwnerOnly(keyFile);
        PrivateKey key = Pem.readPrivateKey(keyFile);
        X509Certificate cert;
        try {
            cert = Pem.readCertificates(certFile).get(0);
        } catch (CertificateException e) {
            throw new IOException(certFile + ": " + e.getMessage(), e);
        }
        return new FleetCa(dir, key, cert, clock);
    }

    /** Reads only the CA certificate (what relays and nodes need to trust the fleet). */
    public static X509Certificate readCertificate(Path caCertFile) throws IOException {
        try {
            return Pem.readCertificates(caCertFile).get(0);
        } catch (CertificateException e) {
            throw new IOException(caCertFile + ": " + e.getMessage(), e);
        }
    }

    /**
     * Issues a node certificate valid from now (minus {@link #CLOCK_SKEW}) for {@code validity}.
     *
     * @throws IllegalArgumentException for an invalid key, name or tags, or a validity out of range
     */
    public X509Certificate issue(NodeKey node, String name, Set<String> tags, Duration validity) {
        if (validity.isNegative() || validity.isZero() || validity.compareTo(MAX_NODE_VALIDITY) > 0) {
            throw new IllegalArgumentException(
                    "validity must be between 1 second and " + MAX_NODE_VALIDITY.toDays() + " days");
        }
        Instant now = clock.instant();
        Instant notAfter = now.plus(validity);
        if (notAfter.isAfter(certificate.getNotAfter().toInstant())) {
            notAfter = certificate.getNotAfter().toInstant(); // never outlive the CA
        }
        X509Certificate cert =
                NodeCertificate.issue(node, name, tags, now.minus(CLOCK_SKEW), notAfter, subject, keyId, key);
        log.info("issued certificate for node {} name={} tags={} until {}", node.shortId(), name, tags, notAfter);
        return cert;
    }

    /** The chain to hand to a node: its certificate, then the CA certificate. */
    public List<X509Certificate> chainFor(X509Certificate nodeCert) {
        return List.of(nodeCert, certificate);
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public Path dir() {
        return dir;
    }

    public Clock clock() {
        return clock;
    }

    @Override
    public String toString() {
        return "FleetCa[" + subject + "]";
    }
}
