package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.ca.FleetCa;
import dev.burrow.relay.server.config.RelayConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.util.LinkedHashSet;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the verifier and admission policy from {@link RelayConfig.Auth}. Every configured source is
 * read at startup: a source that is set but missing, unreadable, malformed or empty stops the relay
 * with a message naming it (auth on every configuration path), whichever way (file, env, flag) it was configured.
 */
public final class AdmissionFactory {
    private static final Logger log = LoggerFactory.getLogger(AdmissionFactory.class);
    /** An allow-list file is node IDs, one per line; a million IDs is under 60 MB. */
    private static final long MAX_ALLOW_FILE_BYTES = 64L * 1024 * 1024;

    private AdmissionFactory() {}

    /** Thrown when the auth configuration cannot be used; the message is for the operator. */
    public static final class AuthConfigException extends RuntimeException {
        public AuthConfigException(String message) {
            super(message);
        }
    }

    public static NodeVerifier verifier(RelayConfig.Auth auth) {
        NodeVerifier.Builder b = NodeVerifier.builder();
        for (Path ca : auth.caFiles()) {
            X509Certificate cert;
            try {
                cert = FleetCa.readCertificate(ca);
            } catch (IOException | RuntimeException e) {
                throw new AuthConfigException("auth.ca: cannot read CA certificate " + ca + ": " + e.getMessage());
            }
            try {
                b.trustCa(cert);
            } catch (IllegalArgumentException e) {
                throw new AuthConfigException("auth.ca: " + ca + ": " + e.getMessage());
            }
        }
        // Outside CA mode a self-signed certificate proves only the key; admission decides on the key.
        b.acceptAnySelfSigned(auth.mode() != RelayConfig.AdmissionMode.CA);
        return b.build();
    }

    public static ClientAdmission admission(RelayConfig.Auth auth) {
        return switch (auth.mode()) {
            case OPEN -> {
                log.atWarn()
                        .addKeyValue("event", "admission_open")
                        .log(
                                "OPEN ADMISSION: any node with a valid key may use this relay. Development only: configure auth.mode allow-list, ca or webhook for anything else.");
                yield Admissions.open();
            }
            case ALLOW_LIST -> Admissions.allowList(allowList(auth));
            case CA -> {
                if (auth.caFiles().isEmpty()) {
                    throw new AuthConfigException("auth.mode ca needs auth.ca (a fleet CA certificate file)");
                }
                yield Admissions.caIssued(auth.requiredTags());
            }
            case WEBHOOK -> {
                if (auth.webhookUrl() == null) {
                    throw new AuthConfigException("auth.mode webhook needs auth.webhook-url");
                }
                String scheme = auth.webhookUrl().getScheme();
                if (!"http".equalsIgnoreCase(scheme) && !"https".equalsIgnoreCase(scheme)) {
                    throw new AuthConfigException("auth.webhook-url must be http or https: " + auth.webhookUrl());
                }
                if (auth.webhookFailOpen()) {
                    log.atWarn()
                            .addKeyValue("event", "admission_webhook_fail_open")
                            .addKeyValue("url", auth.webhookUrl())
                            .log("webhook failures ADMIT clients (auth.webhook-fail-open)");
                }
                yield Admissions.of(
                        new WebhookAdmission(auth.webhookUrl(), auth.webhookTimeout(), auth.webhookFailOpen()), false);
            }
        };
    }

    static Set<NodeKey> allowList(RelayConfig.Auth auth) {
        Set<NodeKey> keys = new LinkedHashSet<>();
        for (String id : auth.allow()) {
            keys.add(parse(id, "auth.allow"));
        }
        Path file = auth.allowFile();
        if (file != null) {
            String text;
            try {
                if (Files.size(file) > MAX_ALLOW_FILE_BYTES) {
                    throw new AuthConfigException(
                            "auth.allow-file " + file + " is larger than " + MAX_ALLOW_FILE_BYTES + " bytes");
                }
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new AuthConfigException("auth.allow-file " + file + " cannot be read: " + e.getMessage());
            }
            int before = keys.size();
            int lineNo = 0;
            for (String line : text.split("\n")) {
                lineNo++;
                String t = line.replaceFirst("#.*", "").strip();
                if (!t.isEmpty()) {
                    keys.add(parse(t, "auth.allow-file " + file + " line " + lineNo));
                }
            }
            if (keys.size() == before) {
                throw new AuthConfigException("auth.allow-file " + file + " lists no node IDs");
            }
        }
        if (keys.isEmpty()) {
            throw new AuthConfigException("auth.mode allow-list needs node IDs in auth.allow or auth.allow-file");
        }
        return keys;
    }

    private static NodeKey parse(String id, String where) {
        try {
            return NodeKey.parse(id);
        } catch (IllegalArgumentException e) {
            throw new AuthConfigException(where + ": " + e.getMessage());
        }
    }
}
