package dev.burrow.relay.server.auth;

import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.PeerVerificationException;
import dev.burrow.identity.RelayAuthProof;
import dev.burrow.identity.VerifiedPeer;
import dev.burrow.protocol.RelayProtocol;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.DenyReason;
import dev.burrow.relay.server.metrics.RelayMetrics.HandshakeOutcome;
import java.io.ByteArrayInputStream;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Checks a CLIENT_AUTH against this connection's challenge, cheapest check first so hostile input
 * costs no curve work (bad keys): version, key validity (length, canonical point, not small order), the
 * domain-separated proof ({@link RelayAuthProof}), the certificate chain ({@link NodeVerifier} with
 * the claimed key as the expected key), then {@link ClientAdmission}.
 */
public final class ClientAuthenticator {
    private final NodeVerifier verifier;
    private final ClientAdmission admission;

    public ClientAuthenticator(NodeVerifier verifier, ClientAdmission admission) {
        this.verifier = verifier;
        this.admission = admission;
    }

    public ClientAdmission admission() {
        return admission;
    }

    /** The outcome of one authentication. Messages are safe to send in a DENY and to log. */
    public record Result(
            HandshakeOutcome outcome, DenyReason denyReason, String message, NodeKey key, VerifiedPeer peer) {
        static Result ok(NodeKey key, VerifiedPeer peer) {
            return new Result(HandshakeOutcome.OK, null, "", key, peer);
        }

        static Result deny(HandshakeOutcome outcome, DenyReason reason, String message) {
            return new Result(outcome, reason, message, null, null);
        }

        public boolean accepted() {
            return outcome == HandshakeOutcome.OK;
        }
    }

    public CompletionStage<Result> authenticate(ClientFrame.ClientAuth auth, byte[] challenge) {
        if (auth.version() < RelayProtocol.MIN_VERSION || auth.version() > RelayProtocol.VERSION) {
            return done(Result.deny(
                    HandshakeOutcome.BAD_VERSION,
                    DenyReason.UNSUPPORTED_VERSION,
                    "version " + auth.version() + " not supported; relay speaks " + RelayProtocol.MIN_VERSION + ".."
                            + RelayProtocol.VERSION));
        }
        NodeKey key = auth.key();
        if (!Ed25519Keys.isValid(key)) {
            return done(Result.deny(HandshakeOutcome.AUTH_FAILED, DenyReason.AUTH_FAILED, "invalid node key"));
        }
        if (!RelayAuthProof.verify(key, challenge, auth.signature())) {
            return done(Result.deny(HandshakeOutcome.AUTH_FAILED, DenyReason.AUTH_FAILED, "key proof does not verify"));
        }
        VerifiedPeer peer = null;
        List<byte[]> chain = auth.certificateChain();
        if (!chain.isEmpty()) {
            try {
                peer = verifier.verify(parse(chain), key);
            } catch (PeerVerificationException e) {
                return done(Result.deny(
                        HandshakeOutcome.AUTH_FAILED, DenyReason.AUTH_FAILED, "certificate: " + e.reason()));
            } catch (CertificateException | RuntimeException e) {
                return done(
                        Result.deny(HandshakeOutcome.AUTH_FAILED, DenyReason.AUTH_FAILED, "certificate: MALFORMED"));
            }
        } else if (admission.requiresCertificate()) {
            return done(Result.deny(
                    HandshakeOutcome.NOT_ALLOWED,
                    DenyReason.NOT_ALLOWED,
                    "a certificate issued by the fleet CA is required"));
        }
        VerifiedPeer verified = peer;
        CompletionStage<ClientAdmission.Decision> decision;
        try {
            decision = admission.admit(key, verified);
        } catch (RuntimeException e) {
            return done(Result.deny(HandshakeOutcome.INTERNAL, DenyReason.INTERNAL, "admission failed"));
        }
        return decision.handle((d, err) -> {
            if (err != null || d == null) {
                return Result.deny(HandshakeOutcome.INTERNAL, DenyReason.INTERNAL, "admission failed");
            }
            return d.allowed()
                    ? Result.ok(key, verified)
                    : Result.deny(HandshakeOutcome.NOT_ALLOWED, DenyReason.NOT_ALLOWED, d.reason());
        });
    }

    private static X509Certificate[] parse(List<byte[]> chain) throws CertificateException {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        X509Certificate[] out = new X509Certificate[chain.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = (X509Certificate) cf.generateCertificate(new ByteArrayInputStream(chain.get(i)));
        }
        return out;
    }

    private static CompletionStage<Result> done(Result r) {
        return CompletableFuture.completedFuture(r);
    }
}
