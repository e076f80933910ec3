package dev.burrow.identity.enrol;

import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.Ed25519Keys;
import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.Pem;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.identity.ca.IssuedNames;
import dev.burrow.identity.enrol.EnrolmentException.Reason;
import dev.burrow.identity.token.InvalidTokenException;
import dev.burrow.identity.token.JoinToken;
import dev.burrow.identity.token.JoinTokenStore;
import dev.burrow.identity.token.JoinTokenStore.TokenGrant;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enrolment: a new node trades a join token for a CA-issued certificate. Pure logic; the relay
 * server exposes {@link #handle(byte[])} at an HTTP endpoint.
 *
 * <p>The node proves it holds the key it wants certified by signing
 * <pre>
 * SHA-256( "burrow-enrol-v1" || 0x00 || node key (32) || SHA-256(token text) (32) || len(name) (1) || name )
 * </pre>
 * which binds the signature to this token and name, so it cannot be reused with another token.
 * Everything that can be checked without the token store (size, shape, key validity, proof, name)
 * is checked first, so a bad request never burns a token; then, in the token's transaction, the
 * name is chosen and claimed in the CA's {@link IssuedNames record} (a refused name leaves the token
 * unused), the token is consumed and the certificate issued with the token's tags.
 *
 * <p>The name: a token that fixes one gives that name (a request for another is refused); a token
 * with a prefix gives the requested name when it starts with the prefix, else a generated
 * {@code <prefix><node ID start>}; a token with neither gives the requested name, else a generated
 * {@code node-<node ID start>}. In every case the name must be free or already held by the same
 * node key (renewal): a name another key holds is refused with {@link Reason#NAME_TAKEN}.
 */
public final class EnrolmentService {
    private static final Logger log = LoggerFactory.getLogger(EnrolmentService.class);

    public static final String LABEL = "burrow-enrol-v1";
    /** Default validity of certificates issued at enrolment. */
    public static final Duration DEFAULT_VALIDITY = Duration.ofDays(90);
    /** Longest base64 proof accepted: 64 bytes encode to 88 characters. */
    static final int MAX_PROOF_TEXT = 100;

    /** Prefix of the names the CA generates for tokens that fix neither a name nor a prefix. */
    public static final String GENERATED_NAME_PREFIX = "node-";
    /** Lengths of the node ID start tried, in order, when a generated name is already taken. */
    private static final int[] GENERATED_ID_LENGTHS = {10, 16, 24, 32, 40, 48, 56};

    private final FleetCa ca;
    private final JoinTokenStore tokens;
    private final IssuedNames names;
    private final Duration validity;
    private final EnrolmentRecorder metrics;

    public EnrolmentService(FleetCa ca, JoinTokenStore tokens, Duration validity) {
        this(ca, tokens, validity, EnrolmentRecorder.NOOP);
    }

    public EnrolmentService(FleetCa ca, JoinTokenStore tokens, Duration validity, EnrolmentRecorder metrics) {
        this(ca, tokens, openNames(ca), validity, metrics);
    }

    public EnrolmentService(
            FleetCa ca, JoinTokenStore tokens, IssuedNames names, Duration validity, EnrolmentRecorder metrics) {
        this.ca = ca;
        this.tokens = tokens;
        this.names = names;
        this.validity = validity;
        this.metrics = metrics;
    }

    private static IssuedNames openNames(FleetCa ca) {
        try {
            return IssuedNames.open(ca.dir(), ca.clock());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CA's record of issued names this service claims names in. */
    public IssuedNames names() {
        return names;
    }

    /** The digest a node signs to enrol. */
    public static byte[] messageToSign(NodeKey key, String tokenText, String nameOrNull) {
        byte[] name = nameOrNull == null ? new byte[0] : nameOrNull.getBytes(StandardCharsets.UTF_8);
        if (name.length > 255) {
            throw new IllegalArgumentException("name too long");
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] tokenHash = MessageDigest.getInstance("SHA-256")
                    .digest(tokenText.strip().getBytes(StandardCharsets.UTF_8));
            sha.update(LABEL.getBytes(StandardCharsets.US_ASCII));
            sha.update((byte) 0);
            sha.update(key.bytes());
            sha.update(tokenHash);
            sha.update((byte) name.length);
            sha.update(name);
            return sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Client side: builds the request for {@code identity}. */
    public static EnrolmentRequest createRequest(NodeIdentity identity, String tokenText, String nameOrNull) {
        byte[] sig = identity.sign(messageToSign(identity.nodeKey(), tokenText, nameOrNull));
        return new EnrolmentRequest(
                tokenText.strip(),
                identity.nodeKey().nodeId(),
                Base64.getEncoder().encodeToString(sig),
                nameOrNull);
    }

    /**
     * Client side: checks a response and returns the chain to {@link NodeIdentity#installCertificate install}.
     *
     * @throws EnrolmentException when the certificate is not for this node
     */
    public static List<X509Certificate> chainFrom(EnrolmentResponse response, NodeKey self) throws EnrolmentException {
        try {
            List<X509Certificate> chain = Pem.decodeCertificates(response.certificateChain());
            if (!NodeCertificate.parse(chain.get(0)).nodeKey().equals(self)) {
                throw new EnrolmentException(Reason.BAD_REQUEST, "the issued certificate is for another node");
            }
            return chain;
        } catch (CertificateException | NodeCertificate.ProfileException e) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "unusable certificate in the response: " + e.getMessage());
        }
    }

    /** Chooses the name per the token and claims it for {@code key}; runs inside the token's transaction. */
    private String claimName(NodeKey key, TokenGrant grant, String requested) throws EnrolmentException {
        List<String> candidates;
        if (grant.name() != null) {
            if (requested != null && !requested.equals(grant.name())) {
                log.info(
                        "enrolment refused for node {}: asked for '{}', token {} is for '{}'",
                        key.shortId(),
                        requested,
                        grant.id(),
                        grant.name());
                throw new EnrolmentException(
                        Reason.NAME_REFUSED,
                        "this join token is for the name '" + grant.name() + "', not '" + requested + "'");
            }
            candidates = List.of(grant.name());
        } else if (grant.namePrefix() != null) {
            if (requested != null && !requested.startsWith(grant.namePrefix())) {
                log.info(
                        "enrolment refused for node {}: '{}' lacks the prefix of token {}",
                        key.shortId(),
                        requested,
                        grant.id());
                throw new EnrolmentException(
                        Reason.NAME_REFUSED,
                        "this join token allows only names starting with '" + grant.namePrefix() + "'");
            }
            candidates = requested != null ? List.of(requested) : generatedNames(grant.namePrefix(), key);
        } else {
            candidates = requested != null ? List.of(requested) : generatedNames(GENERATED_NAME_PREFIX, key);
        }
        try {
            return names.claim(key, candidates, false);
        } catch (IssuedNames.NameTakenException e) {
            log.info(
                    "enrolment refused for node {}: name '{}' is held by node {} (token {} not used)",
                    key.shortId(),
                    e.name(),
                    e.holder().shortId(),
                    grant.id());
            throw new EnrolmentException(Reason.NAME_TAKEN, e.getMessage());
        } catch (IOException e) {
            log.error("enrolment failed: name record: {}", e.getMessage());
            throw new EnrolmentException(Reason.INTERNAL, "name record unavailable");
        }
    }

    /** {@code prefix} + the start of the node ID, longer and longer (someone may have asked for the short one). */
    static List<String> generatedNames(String prefix, NodeKey key) {
        List<String> out = new ArrayList<>();
        for (int len : GENERATED_ID_LENGTHS) {
            String n = prefix
                    + key.nodeId().substring(0, Math.min(len, key.nodeId().length()));
            if (CertificateProfile.isValidName(n) && !out.contains(n)) {
                out.add(n);
            }
        }
        return out;
    }

    /** HTTP body in, HTTP body out. */
    public byte[] handle(byte[] body) throws EnrolmentException {
        EnrolmentRequest req;
        try {
            req = EnrolmentMessages.parseRequest(body);
        } catch (EnrolmentException e) {
            metrics.enrolment(e.reason());
            throw e;
        }
        return EnrolmentMessages.encode(enrol(req));
    }

    /** Enrols a node. */
    public EnrolmentResponse enrol(EnrolmentRequest req) throws EnrolmentException {
        try {
            EnrolmentResponse r = enrolUnchecked(req);
            metrics.enrolment(null);
            return r;
        } catch (EnrolmentException e) {
            metrics.enrolment(e.reason());
            throw e;
        } catch (RuntimeException e) {
            log.error("enrolment failed: {}", e.toString());
            metrics.enrolment(Reason.INTERNAL);
            throw new EnrolmentException(Reason.INTERNAL, "internal error");
        }
    }

    private EnrolmentResponse enrolUnchecked(EnrolmentRequest req) throws EnrolmentException {
        if (req == null || req.token() == null || req.nodeId() == null || req.proof() == null) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "token, nodeId and proof are required");
        }
        if (req.token().length() > JoinToken.TEXT_LENGTH + 8
                || req.proof().length() > MAX_PROOF_TEXT
                || req.nodeId().length() > NodeKey.TEXT_LENGTH + 8) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "field too long");
        }
        NodeKey key;
        try {
            key = NodeKey.parse(req.nodeId());
        } catch (IllegalArgumentException e) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "malformed nodeId");
        }
        if (!Ed25519Keys.isValid(key)) {
            throw new EnrolmentException(Reason.INVALID_KEY, "node key is not a valid Ed25519 public key");
        }
        if (req.name() != null && !CertificateProfile.isValidName(req.name())) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "invalid name: use 1-63 of a-z, 0-9 and '-'");
        }
        byte[] proof;
        try {
            proof = Base64.getDecoder().decode(req.proof());
        } catch (IllegalArgumentException e) {
            throw new EnrolmentException(Reason.BAD_REQUEST, "proof is not base64");
        }
        if (!Ed25519Keys.verify(key, messageToSign(key, req.token(), req.name()), proof)) {
            log.info("enrolment refused for node {}: proof of possession does not verify", key.shortId());
            throw new EnrolmentException(Reason.BAD_PROOF, "proof of possession does not verify");
        }
        TokenGrant grant;
        String[] claimed = new String[1];
        try {
            grant = tokens.consume(req.token(), g -> claimed[0] = claimName(key, g, req.name()));
        } catch (InvalidTokenException e) {
            metrics.tokenRefused(e.reason());
            log.info("enrolment refused for node {}: token {}", key.shortId(), e.reason());
            throw new EnrolmentException(Reason.TOKEN_REFUSED, InvalidTokenException.MESSAGE);
        } catch (IOException e) {
            log.error("enrolment failed: token store: {}", e.getMessage());
            throw new EnrolmentException(Reason.INTERNAL, "token store unavailable");
        }
        String name = claimed[0];
        X509Certificate cert = ca.issue(key, name, grant.tags(), validity);
        log.info("enrolled node {} as '{}' tags={} with token {}", key.shortId(), name, grant.tags(), grant.id());
        return new EnrolmentResponse(
                key.nodeId(),
                name,
                grant.tags().stream().sorted().toList(),
                cert.getNotAfter().toInstant().toString(),
                Pem.encodeCertificates(ca.chainFor(cert)));
    }
}
