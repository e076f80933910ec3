package dev.burrow.identity;

import dev.burrow.identity.PeerVerificationException.Reason;
import java.io.IOException;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.cert.X509CertificateHolder;

/**
 * The one place where a peer's node certificate is judged: relay admission, node-to-node TLS and
 * QUIC all call {@link #verify}.
 *
 * <p>Trust is configured as any of:
 * <ul>
 *   <li>fleet CA certificates: a certificate they signed is trusted, and only then are its name and
 *       tags authoritative;</li>
 *   <li>pinned node keys: a self-signed certificate whose key is pinned is trusted (key-only mode);</li>
 *   <li>the caller's expected key: a self-signed certificate for exactly the node the caller dialled
 *       is trusted, because the node ID is the trust anchor in key-only mode;</li>
 *   <li>{@link Builder#acceptAnySelfSigned}: any self-signed certificate verifies as key-only and an
 *       {@code Admission} policy decides (a relay in open or allow-list mode).</li>
 * </ul>
 *
 * <p>Checks, cheapest first, so hostile input costs no signature work: chain shape, profile and key
 * validity (length, point validation: bad keys), expected key, validity period against the injected clock,
 * node revocation, then the issuer signature, then serial revocation. Only the leaf is looked at;
 * extra certificates a peer sends are ignored because issuers come from configuration only.
 *
 * <p>The parse, the key's point validation and a signature that verified are remembered per
 * certificate ({@link VerifiedCertificateMemo}), so the streams of a session re-check only what can
 * change: the expected key, the validity period, revocation and trust.
 */
public final class NodeVerifier {
    private record TrustedCa(X500Name subject, byte[] rawKey, X509Certificate cert) {}

    private final List<TrustedCa> cas;
    private final Set<NodeKey> pinned;
    private final boolean acceptAnySelfSigned;
    private final RevocationList revocations;
    private final Clock clock;
    private final PeerVerificationRecorder metrics;
    private final VerifiedCertificateMemo memo = new VerifiedCertificateMemo();

    private NodeVerifier(Builder b) {
        this.cas = List.copyOf(b.cas);
        this.pinned = Set.copyOf(b.pinned);
        this.acceptAnySelfSigned = b.acceptAnySelfSigned;
        this.revocations = b.revocations;
        this.clock = b.clock;
        this.metrics = b.metrics;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Verifies a peer's chain (leaf first).
     *
     * @param expectedOrNull the node key the caller expects (the node it dialled, or the key the peer
     *     claimed in its auth proof); null to accept whichever trusted node it is
     * @return the verified peer
     * @throws PeerVerificationException with a typed reason
     */
    public VerifiedPeer verify(X509Certificate[] chain, NodeKey expectedOrNull) throws PeerVerificationException {
        try {
            VerifiedPeer peer = verifyUnchecked(chain, expectedOrNull);
            metrics.peerVerified(peer.caIssued());
            return peer;
        } catch (PeerVerificationException e) {
            metrics.peerRefused(e.reason());
            throw e;
        } catch (RuntimeException e) {
            // Defence in depth: nothing but a typed refusal may leave the verifier (it runs inside TLS).
            metrics.peerRefused(Reason.MALFORMED);
            throw new PeerVerificationException(
                    Reason.MALFORMED, "unparsable certificate (" + e.getClass().getSimpleName() + ")");
        }
    }

    private VerifiedPeer verifyUnchecked(X509Certificate[] chain, NodeKey expectedOrNull)
            throws PeerVerificationException {
        if (chain == null || chain.length == 0 || chain[0] == null) {
            throw new PeerVerificationException(Reason.MALFORMED, "no certificate");
        }
        if (chain.length > CertificateProfile.MAX_CHAIN_LENGTH) {
            throw new PeerVerificationException(
                    Reason.MALFORMED, "chain longer than " + CertificateProfile.MAX_CHAIN_LENGTH);
        }
        byte[] der = VerifiedCertificateMemo.encodingOf(chain[0]);
        VerifiedCertificateMemo.Checked checked = memo.get(der);
        if (checked == null) {
            NodeCertificate parsed;
            try {
                parsed = NodeCertificate.parse(chain[0]);
            } catch (NodeCertificate.ProfileException e) {
                throw new PeerVerificationException(
                        e.invalidKey() ? Reason.INVALID_KEY : Reason.MALFORMED, e.getMessage());
            }
            checked = memo.parsed(der, parsed, issuerOf(chain[0]));
        }
        NodeCertificate leaf = checked.leaf();
        NodeKey key = leaf.nodeKey();
        if (expectedOrNull != null && !expectedOrNull.equals(key)) {
            throw new PeerVerificationException(
                    Reason.KEY_MISMATCH,
                    "certificate is for node " + key.shortId() + ", expected " + expectedOrNull.shortId());
        }
        Instant now = clock.instant();
        if (now.isBefore(leaf.notBefore())) {
            throw new PeerVerificationException(Reason.NOT_YET_VALID, "certificate is valid from " + leaf.notBefore());
        }
        if (now.isAfter(leaf.notAfter())) {
            throw new PeerVerificationException(Reason.EXPIRED, "certificate expired at " + leaf.notAfter());
        }
        if (revocations.isRevoked(key, null)) {
            throw new PeerVerificationException(Reason.REVOKED, "node " + key.shortId() + " is revoked");
        }

        boolean issuerNameKnown = false;
        for (TrustedCa ca : cas) {
            if (!ca.subject().equals(checked.issuer())) {
                continue;
            }
            issuerNameKnown = true;
            if (signatureVerifies(der, checked, ca.rawKey())) {
                if (now.isAfter(ca.cert().getNotAfter().toInstant())) {
                    throw new PeerVerificationException(Reason.EXPIRED, "issuing CA certificate expired");
                }
                if (now.isBefore(ca.cert().getNotBefore().toInstant())) {
                    throw new PeerVerificationException(Reason.NOT_YET_VALID, "issuing CA certificate not yet valid");
                }
                if (revocations.isRevoked(key, leaf.serial())) {
                    throw new PeerVerificationException(
                            Reason.REVOKED, "certificate serial " + leaf.serialHex() + " is revoked");
                }
                return new VerifiedPeer(key, leaf.name(), leaf.tags(), leaf.notAfter(), true, leaf.serial());
            }
        }
        if (leaf.selfIssued()) {
            if (!signatureVerifies(der, checked, key.bytes())) {
                throw new PeerVerificationException(Reason.BAD_SIGNATURE, "self-signature does not verify");
            }
            if (acceptAnySelfSigned || pinned.contains(key) || key.equals(expectedOrNull)) {
                return new VerifiedPeer(key, null, Set.of(), leaf.notAfter(), false, leaf.serial());
            }
            throw new PeerVerificationException(
                    Reason.UNTRUSTED_ISSUER, "self-signed certificate for a node that is not pinned");
        }
        if (issuerNameKnown) {
            throw new PeerVerificationException(Reason.BAD_SIGNATURE, "CA signature does not verify");
        }
        throw new PeerVerificationException(Reason.UNTRUSTED_ISSUER, "issued by an unknown CA");
    }

    /** The certificate's signature check, answered from the memo when it already verified with this key. */
    private boolean signatureVerifies(byte[] der, VerifiedCertificateMemo.Checked checked, byte[] issuerKey) {
        if (VerifiedCertificateMemo.signedBy(checked, issuerKey)) {
            return true;
        }
        if (!checked.leaf().signatureVerifiesWith(issuerKey)) {
            return false;
        }
        memo.signatureVerified(der, checked, issuerKey);
        return true;
    }

    private static X500Name issuerOf(X509Certificate cert) throws PeerVerificationException {
        try {
            return new X509CertificateHolder(cert.getEncoded()).getIssuer();
        } catch (CertificateEncodingException | IOException | RuntimeException e) {
            throw new PeerVerificationException(Reason.MALFORMED, "unparsable issuer");
        }
    }

    /** What this verifier remembers of certificates it has judged (tests). */
    VerifiedCertificateMemo memo() {
        return memo;
    }

    /** The configured fleet CA certificates. */
    public List<X509Certificate> caCertificates() {
        return cas.stream().map(TrustedCa::cert).toList();
    }

    /** True when at least one fleet CA is configured. */
    public boolean hasCa() {
        return !cas.isEmpty();
    }

    public Clock clock() {
        return clock;
    }

    /**
     * A verifier for the TLS handshake of a server that learns which node it expects only after
     * the handshake (the relay's offer names it, or the certificate itself does): the same CAs and
     * clock, and any self-signed node certificate. The real decision is this verifier's
     * {@link #verify} against that node right after the handshake; no server context here can be
     * bound to an expected key in advance.
     */
    public NodeVerifier forHandshake() {
        return builder()
                .trustCas(caCertificates())
                .acceptAnySelfSigned(true)
                .clock(clock)
                .build();
    }

    /** Builds a {@link NodeVerifier}. */
    public static final class Builder {
        private final List<TrustedCa> cas = new ArrayList<>();
        private final Set<NodeKey> pinned = new HashSet<>();
        private boolean acceptAnySelfSigned;
        private RevocationList revocations = RevocationList.empty();
        private Clock clock = Clock.systemUTC();
        private PeerVerificationRecorder metrics = PeerVerificationRecorder.NOOP;

        private Builder() {}

        /** Where verification outcomes are counted (default: nowhere). */
        public Builder metrics(PeerVerificationRecorder m) {
            this.metrics = m;
            return this;
        }

        /**
         * Trusts a fleet CA certificate.
         *
         * @throws IllegalArgumentException when it is not an Ed25519 CA certificate
         */
        public Builder trustCa(X509Certificate ca) {
            try {
                X509CertificateHolder h = new X509CertificateHolder(ca.getEncoded());
                BasicConstraints bc = BasicConstraints.fromExtensions(h.getExtensions());
                if (bc == null || !bc.isCA()) {
                    throw new IllegalArgumentException(
                            "not a CA certificate (basicConstraints cA is not set): " + h.getSubject());
                }
                byte[] raw = Ed25519Keys.rawFromSubjectPublicKeyInfo(
                        h.getSubjectPublicKeyInfo().getEncoded());
                if (!Ed25519Keys.isValidPublicKey(raw)) {
                    throw new IllegalArgumentException("fleet CA key must be a valid Ed25519 key: " + h.getSubject());
                }
                cas.add(new TrustedCa(h.getSubject(), raw, ca));
            } catch (CertificateEncodingException | IOException e) {
                throw new IllegalArgumentException("unparsable CA certificate", e);
            }
            return this;
        }

        /** Trusts each CA certificate. */
        public Builder trustCas(Iterable<X509Certificate> list) {
            list.forEach(this::trustCa);
            return this;
        }

        /** Pins a node key: its self-signed certificate is trusted. */
        public Builder pin(NodeKey key) {
            if (!Ed25519Keys.isValid(key)) {
                throw new IllegalArgumentException("pinned key is not a valid Ed25519 key: " + key);
            }
            pinned.add(key);
            return this;
        }

        public Builder pinAll(Iterable<NodeKey> keys) {
            keys.forEach(this::pin);
            return this;
        }

        /** Accept any valid self-signed certificate as key-only (no name, no tags); admission decides. */
        public Builder acceptAnySelfSigned(boolean accept) {
            this.acceptAnySelfSigned = accept;
            return this;
        }

        public Builder revocations(RevocationList list) {
            this.revocations = list;
            return this;
        }

        public Builder clock(Clock c) {
            this.clock = c;
            return this;
        }

        public NodeVerifier build() {
            return new NodeVerifier(this);
        }
    }
}
