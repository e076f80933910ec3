package dev.burrow.identity;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.Arrays;
import org.bouncycastle.asn1.x500.X500Name;

/**
 * Remembers the pure, costly parts of judging a certificate, so that a peer whose certificate was
 * checked once is not checked again from scratch for every stream: the profile parse with its key's
 * point validation, the issuer name, and which issuer keys its signature verified with. A relay
 * session or a QUIC connection carries many streams, and the gate judges each one against the
 * session's certificate; without this, two Ed25519 point decodings and a signature verification per
 * stream were about 45 % of an agent's CPU at 175 new connections a second.
 *
 * <p>Only results that depend on nothing but the certificate's bytes (and the issuer key) are kept,
 * and only successes: validity period, revocation, pinning and the expected key are still decided on
 * every call by {@link NodeVerifier}. Entries are keyed by the certificate's whole DER encoding
 * (signature included), so a different certificate can never hit another one's entry.
 */
final class VerifiedCertificateMemo {
    /**
     * Certificates remembered. A busy agent talks to a few hundred peers and a relay admits a few
     * thousand agents, each with one certificate at a time; 4,096 entries of about 1.5 KiB each (DER,
     * parsed view, issuer keys) bound the memo at about 6 MiB, and a peer that presents endless
     * fresh self-signed certificates only evicts older entries (which then cost a re-check).
     */
    static final int MAX_ENTRIES = 4096;

    /** A certificate's parse, its issuer, and the issuer key its signature verified with (or null). */
    record Checked(NodeCertificate leaf, X500Name issuer, byte[] signedBy) {
        Checked withSignedBy(byte[] issuerKey) {
            return new Checked(leaf, issuer, issuerKey.clone());
        }
    }

    /** A DER encoding as a map key: content equality, hash computed once. */
    private record Der(byte[] bytes, int hash) {
        static Der of(byte[] bytes) {
            return new Der(bytes, Arrays.hashCode(bytes));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Der d && d.hash == hash && Arrays.equals(d.bytes, bytes);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    private final Cache<Der, Checked> entries =
            Caffeine.newBuilder().maximumSize(MAX_ENTRIES).build();

    /** The encoding a certificate is remembered by, or null when it has none (then nothing is remembered). */
    static byte[] encodingOf(X509Certificate cert) {
        try {
            return cert.getEncoded();
        } catch (CertificateEncodingException | RuntimeException e) {
            return null;
        }
    }

    /** What was remembered of the certificate with this encoding, or null. */
    Checked get(byte[] der) {
        return der == null ? null : entries.getIfPresent(Der.of(der));
    }

    /** Remembers a certificate that parsed (a profile-valid leaf), with its issuer. */
    Checked parsed(byte[] der, NodeCertificate leaf, X500Name issuer) {
        Checked c = new Checked(leaf, issuer, null);
        if (der != null) {
            entries.put(Der.of(der), c);
        }
        return c;
    }

    /** True when {@code c}'s signature was already seen to verify with {@code issuerKey}. */
    static boolean signedBy(Checked c, byte[] issuerKey) {
        return c.signedBy() != null && Arrays.equals(c.signedBy(), issuerKey);
    }

    /** Remembers that the certificate's signature verified with {@code issuerKey}. */
    void signatureVerified(byte[] der, Checked c, byte[] issuerKey) {
        if (der != null) {
            entries.put(Der.of(der), c.withSignedBy(issuerKey));
        }
    }

    /** Entries held (tests). */
    long size() {
        entries.cleanUp();
        return entries.estimatedSize();
    }
}
