package dev.burrow.cli.common;

import dev.burrow.agent.AgentConfig;
import java.security.cert.CertificateException;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns a failed TLS check of the relay's certificate into one line a person can act on: which relay,
 * what it presented, what was expected, and which option fixes it. Any other failure is not a trust
 * failure (empty).
 */
public final class TrustFailures {
    /** How {@code FingerprintTrustManager} names the certificate the relay presented. */
    private static final Pattern PRESENTED = Pattern.compile("fingerprint (sha256:[0-9a-f]{64})");
    /** Longest cause chain walked (a cycle or a very deep chain ends the walk). */
    private static final int MAX_CAUSES = 16;

    private TrustFailures() {}

    /** The certificate problem in {@code t}'s cause chain, if any. */
    static Optional<CertificateException> certificateProblem(Throwable t) {
        Throwable c = t;
        for (int i = 0; c != null && i < MAX_CAUSES; i++, c = c.getCause()) {
            if (c instanceof CertificateException ce) {
                return Optional.of(ce);
            }
        }
        return Optional.empty();
    }

    /**
     * One line for a trust failure of {@code relay} (the agent's relay settings), or empty when
     * {@code t} is not one.
     */
    public static Optional<String> describe(Throwable t, AgentConfig.Relay relay) {
        Optional<CertificateException> problem = certificateProblem(t);
        if (problem.isEmpty()) {
            return Optional.empty();
        }
        String msg = String.valueOf(problem.get().getMessage());
        String which = relay == null || relay.candidates().size() != 1 ? "the relay" : "relay " + relay.url();
        Matcher presented = PRESENTED.matcher(msg);
        if (presented.find() && relay != null && relay.fingerprint() != null) {
            return Optional.of(
                    which + " presents certificate " + presented.group(1) + " but --relay-fingerprint expects "
                            + relay.fingerprint()
                            + ": copy the fingerprint the relay printed at start (a different relay, or one "
                            + "that made a new development certificate)");
        }
        if (msg.contains("expired")) {
            return Optional.of(which + ": " + msg + ": renew the relay's certificate");
        }
        if (msg.contains("PKIX") || msg.contains("certification path")) {
            return Optional.of(
                    which + " presents a certificate that no trusted CA signed: pass --relay-ca PEM (the CA that "
                            + "issued it), or --relay-fingerprint sha256:... for a development relay (it prints its fingerprint)");
        }
        if (msg.contains("subject alternative name") || msg.contains("No name matching")) {
            return Optional.of(which + " presents a certificate for another name (" + msg + "): use the host name the "
                    + "certificate names in --relay");
        }
        return Optional.of(
                which + ": its certificate is not trusted (" + msg + "): check --relay-ca or --relay-fingerprint");
    }
}
