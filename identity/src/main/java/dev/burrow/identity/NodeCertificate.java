package dev.burrow.identity;

import java.io.IOException;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.ASN1String;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.AuthorityKeyIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * A node certificate following {@link CertificateProfile}: the parsed view of an X.509 certificate
 * (node key, claimed name and tags, validity, serial) plus the builder that issues one.
 *
 * <p>Parsing checks the profile only. Whether the certificate is <em>trusted</em> is decided by
 * {@link NodeVerifier}; a self-signed certificate's name and tags are claims, never authority.
 */
public final class NodeCertificate {
    private static final SecureRandom RANDOM = new SecureRandom();

    private final X509Certificate certificate;
    private final NodeKey nodeKey;
    private final String name;
    private final Set<String> tags;
    private final BigInteger serial;
    private final boolean selfIssued;

    private NodeCertificate(
            X509Certificate certificate,
            NodeKey nodeKey,
            String name,
            Set<String> tags,
            BigInteger serial,
            boolean selfIssued) {
        this.certificate = certificate;
        this.nodeKey = nodeKey;
        this.name = name;
        this.tags = tags;
        this.serial = serial;
        this.selfIssued = selfIssued;
    }

    /** A random positive serial of up to 128 bits (never zero). */
    public static BigInteger randomSerial() {
        BigInteger s;
        do {
            s = new BigInteger(128, RANDOM);
        } while (s.signum() == 0);
        return s;
    }

    /** Issues a self-signed node certificate (key-only mode: trust comes from the node ID). */
    public static X509Certificate selfSigned(
            NodeKey key, PrivateKey privateKey, String name, Set<String> tags, Instant notBefore, Instant notAfter) {
        X500Name subject = cn(name);
        return issue(key, name, tags, notBefore, notAfter, subject, null, privateKey);
    }

    /**
     * Builds and signs a node certificate.
     *
     * @param issuer the issuer name (the subject name for a self-signed certificate)
     * @param issuerKeyId the issuer's subjectKeyIdentifier, or null when self-signed
     * @param issuerKey the Ed25519 private key signing the certificate
     */
    public static X509Certificate issue(
            NodeKey key,
            String name,
            Set<String> tags,
            Instant notBefore,
            Instant notAfter,
            X500Name issuer,
            byte[] issuerKeyId,
            PrivateKey issuerKey) {
        CertificateProfile.requireValidName(name);
        Set<String> validTags = CertificateProfile.requireValidTags(tags);
        if (!Ed25519Keys.isValid(key)) {
            throw new IllegalArgumentException("not a valid Ed25519 public key: " + key);
        }
        if (!notAfter.isAfter(notBefore)) {
            throw new IllegalArgumentException("certificate would expire before it becomes valid");
        }
        try {
            SubjectPublicKeyInfo spki = SubjectPublicKeyInfo.getInstance(Ed25519Keys.subjectPublicKeyInfo(key));
            X509v3CertificateBuilder b = new X509v3CertificateBuilder(
                    issuer, randomSerial(), Date.from(notBefore), Date.from(notAfter), cn(name), spki);
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(new KeyPurposeId[] {
                KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth
            }));
            List<GeneralName> names = new ArrayList<>();
            names.add(new GeneralName(
                    GeneralName.uniformResourceIdentifier, CertificateProfile.NODE_URI_PREFIX + key.nodeId()));
            for (String uri : CertificateProfile.tagUris(validTags)) {
                names.add(new GeneralName(GeneralName.uniformResourceIdentifier, uri));
            }
            b.addExtension(
                    Extension.subjectAlternativeName, false, new GeneralNames(names.toArray(GeneralName[]::new)));
            b.addExtension(Extension.subjectKeyIdentifier, false, new SubjectKeyIdentifier(keyId(key.bytes())));
            if (issuerKeyId != null) {
                b.addExtension(Extension.authorityKeyIdentifier, false, new AuthorityKeyIdentifier(issuerKeyId));
            }
            return toX509(b.build(new JcaContentSignerBuilder("Ed25519").build(issuerKey)));
        } catch (CertIOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot build certificate", e);
        }
    }

    /** A subjectKeyIdentifier: the first 20 bytes of SHA-256 over the raw key (RFC 7093 §2 method 1 style). */
    public static byte[] keyId(byte[] rawKey) {
        try {
            return Arrays.copyOf(MessageDigest.getInstance("SHA-256").digest(rawKey), 20);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code CN=<name>} */
    public static X500Name cn(String name) {
        return new X500NameBuilder(BCStyle.INSTANCE).addRDN(BCStyle.CN, name).build();
    }

    static X509Certificate toX509(X509CertificateHolder holder) {
        try {
            return new JcaX509CertificateConverter().getCertificate(holder);
        } catch (CertificateException e) {
            throw new IllegalStateException("cannot convert certificate", e);
        }
    }

    /**
     * Parses a certificate against the profile.
     *
     * @throws ProfileException when it is not an Ed25519 node certificate in our profile; {@link
     *     ProfileException#invalidKey()} tells an unusable key apart from other malformations
     */
    public static NodeCertificate parse(X509Certificate cert) throws ProfileException {
        try {
            return parseUnchecked(cert);
        } catch (RuntimeException e) {
            // Hostile encodings (invalid UTF-8 in a name, unexpected ASN.1 types) surface as runtime
            // exceptions from the ASN.1 layer; they are malformed certificates, nothing more.
            throw new ProfileException("malformed certificate (" + e.getClass().getSimpleName() + ")", false);
        }
    }

    private static NodeCertificate parseUnchecked(X509Certificate cert) throws ProfileException {
        X509CertificateHolder holder;
        try {
            holder = new X509CertificateHolder(cert.getEncoded());
        } catch (CertificateEncodingException | IOException | RuntimeException e) {
            throw new ProfileException("not a parsable certificate", false);
        }
        byte[] raw;
        try {
            raw = Ed25519Keys.rawFromSubjectPublicKeyInfo(
                    holder.getSubjectPublicKeyInfo().getEncoded());
        } catch (IOException e) {
            raw = null;
        }
        if (raw == null) {
            throw new ProfileException("subject key is not an Ed25519 key", true);
        }
        // Validate the point before anything else is done with the key (bad keys).
        if (!Ed25519Keys.isValidPublicKey(raw)) {
            throw new ProfileException("subject key is not a valid Ed25519 point", true);
        }
        NodeKey key = NodeKey.of(raw);
        if (holder.getVersionNumber() != 3) {
            throw new ProfileException("not an X.509 v3 certificate", false);
        }
        BasicConstraints bc = BasicConstraints.fromExtensions(holder.getExtensions());
        if (bc != null && bc.isCA()) {
            throw new ProfileException("a CA certificate cannot be a node certificate", false);
        }
        String name = commonName(holder.getSubject());
        if (!CertificateProfile.isValidName(name)) {
            throw new ProfileException("subject CN is not a valid node name", false);
        }
        Extension sanExt = holder.getExtension(Extension.subjectAlternativeName);
        if (sanExt == null) {
            throw new ProfileException("no subjectAltName with the node ID", false);
        }
        GeneralNames san;
        try {
            san = GeneralNames.getInstance(sanExt.getParsedValue());
        } catch (RuntimeException e) {
            throw new ProfileException("malformed subjectAltName", false);
        }
        String nodeUri = null;
        List<String> tags = new ArrayList<>();
        for (GeneralName gn : san.getNames()) {
            if (gn.getTagNo() != GeneralName.uniformResourceIdentifier) {
                continue;
            }
            if (!(gn.getName() instanceof ASN1String uriString)) {
                throw new ProfileException("malformed URI in subjectAltName", false);
            }
            String uri = uriString.getString();
            if (uri.startsWith(CertificateProfile.NODE_URI_PREFIX)) {
                if (nodeUri != null) {
                    throw new ProfileException("more than one node ID in subjectAltName", false);
                }
                nodeUri = uri.substring(CertificateProfile.NODE_URI_PREFIX.length());
            } else if (uri.startsWith(CertificateProfile.TAG_URI_PREFIX)) {
                tags.add(uri.substring(CertificateProfile.TAG_URI_PREFIX.length()));
            }
        }
        if (nodeUri == null) {
            throw new ProfileException("no node ID in subjectAltName", false);
        }
        NodeKey named;
        try {
            named = NodeKey.parse(nodeUri);
        } catch (IllegalArgumentException e) {
            throw new ProfileException("malformed node ID in subjectAltName", false);
        }
        if (!named.equals(key)) {
            throw new ProfileException("node ID in subjectAltName does not match the certificate key", false);
        }
        Set<String> validTags;
        try {
            validTags = CertificateProfile.requireValidTags(tags);
        } catch (IllegalArgumentException e) {
            throw new ProfileException("invalid tag in subjectAltName", false);
        }
        boolean selfIssued = holder.getIssuer().equals(holder.getSubject());
        return new NodeCertificate(cert, key, name, validTags, holder.getSerialNumber(), selfIssued);
    }

    private static String commonName(X500Name subject) {
        RDN[] rdns = subject.getRDNs(BCStyle.CN);
        if (rdns.length != 1 || rdns[0].isMultiValued() || !(rdns[0].getFirst().getValue() instanceof ASN1String s)) {
            return null;
        }
        return s.getString();
    }

    /**
     * True when this certificate's signature verifies with the raw Ed25519 key {@code issuerRawKey}.
     * Only Ed25519 signatures are accepted; never throws.
     */
    public boolean signatureVerifiesWith(byte[] issuerRawKey) {
        if (!Ed25519Keys.OID.equals(certificate.getSigAlgOID())) {
            return false;
        }
        try {
            return Ed25519Keys.verify(issuerRawKey, certificate.getTBSCertificate(), certificate.getSignature());
        } catch (CertificateEncodingException e) {
            return false;
        }
    }

    public X509Certificate certificate() {
        return certificate;
    }

    public NodeKey nodeKey() {
        return nodeKey;
    }

    /** The name the certificate claims (authoritative only when CA-issued). */
    public String name() {
        return name;
    }

    /** The tags the certificate claims (authoritative only when CA-issued). */
    public Set<String> tags() {
        return tags;
    }

    public BigInteger serial() {
        return serial;
    }

    /** The serial as lower-case hex, as used in revocation lists. */
    public String serialHex() {
        return serial.toString(16);
    }

    public Instant notBefore() {
        return certificate.getNotBefore().toInstant();
    }

    public Instant notAfter() {
        return certificate.getNotAfter().toInstant();
    }

    /** True when the issuer name equals the subject name (a self-signed certificate, if its signature verifies). */
    public boolean selfIssued() {
        return selfIssued;
    }

    /** True when the certificate is self-issued and its signature verifies with its own key. */
    public boolean selfSigned() {
        return selfIssued && signatureVerifiesWith(nodeKey.bytes());
    }

    /** The issuer's distinguished name as text. */
    public String issuerName() {
        return certificate.getIssuerX500Principal().getName();
    }

    /** SHA-256 of the DER encoding as {@code sha256:<hex>}. */
    public String fingerprint() {
        return fingerprint(certificate);
    }

    /** SHA-256 of a certificate's DER encoding as {@code sha256:<hex>}. */
    public static String fingerprint(X509Certificate cert) {
        try {
            return "sha256:"
                    + HexFormat.of()
                            .formatHex(MessageDigest.getInstance("SHA-256").digest(cert.getEncoded()));
        } catch (NoSuchAlgorithmException | CertificateEncodingException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "NodeCertificate[" + nodeKey.shortId() + " name=" + name + " tags=" + tags + " notAfter=" + notAfter()
                + (selfIssued ? " self-signed" : " issuer=" + issuerName()) + "]";
    }

    /** The certificate does not follow the node certificate profile. */
    public static final class ProfileException extends Exception {
        private final boolean invalidKey;

        public ProfileException(String message, boolean invalidKey) {
            super(message);
            this.invalidKey = invalidKey;
        }

        /** True when the subject key is missing, not Ed25519 or not a valid point. */
        public boolean invalidKey() {
            return invalidKey;
        }
    }
}
