package dev.burrow.identity.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.Pem;
import dev.burrow.identity.SecureFiles;
import dev.burrow.identity.testing.LogCapture;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RelayTlsTest {
    @TempDir
    Path tmp;

    @Test
    void devCertificateWithPinnedFingerprint() throws Exception {
        RelayTls.ServerCredentials dev = RelayTls.devSelfSigned(tmp.resolve("relay"), List.of("relay.example"));
        assertThat(dev.fingerprint()).matches("sha256:[0-9a-f]{64}");
        assertThat(dev.chain().get(0).getPublicKey().getAlgorithm()).isEqualTo("EC");
        // stored and reused: same fingerprint after a restart
        assertThat(RelayTls.devSelfSigned(tmp.resolve("relay"), List.of()).fingerprint())
                .isEqualTo(dev.fingerprint());
        assertThat(PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(tmp.resolve("relay").resolve(RelayTls.DEV_KEY_FILE))))
                .isEqualTo("rw-------");
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(
                    dev.sslContext(),
                    RelayTls.clientPinned(dev.fingerprint().toUpperCase().replace("SHA256", "sha256")));
            assertThat(r.ok())
                    .as("server: %s, client: %s", r.serverError(), r.clientError())
                    .isTrue();
            assertThat(r.client().engine().getSession().getProtocol()).isEqualTo("TLSv1.3");
        }
    }

    @Test
    void devCertificateNamesAndWorldReadableKeyOnlyWarns() throws Exception {
        RelayTls.ServerCredentials dev =
                RelayTls.devSelfSigned(null, List.of("cafe", "relay.example", "10.1.2.3", "fd00::1"));
        var sans = dev.chain().get(0).getSubjectAlternativeNames().stream()
                .map(l -> l.get(1).toString())
                .toList();
        assertThat(sans).contains("cafe", "relay.example", "10.1.2.3", "localhost", "127.0.0.1");
        assertThat(sans).anyMatch(s -> s.startsWith("fd00:"));

        Path crt = tmp.resolve("tls.crt");
        Path key = tmp.resolve("tls.key");
        Files.writeString(crt, Pem.encodeCertificates(dev.chain()));
        Files.writeString(key, Pem.encodePrivateKey(dev.key()));
        Files.setPosixFilePermissions(
                key, PosixFilePermissions.fromString("rw-r--r--")); // a default Kubernetes Secret mount
        try (LogCapture logs = LogCapture.start()) {
            assertThat(RelayTls.loadPem(crt, key).fingerprint()).isEqualTo(dev.fingerprint());
            assertThat(logs.text()).contains("readable by other users");
            String keyBody = Files.readString(key)
                    .lines()
                    .filter(l -> !l.startsWith("-----"))
                    .findFirst()
                    .orElseThrow();
            assertThat(logs.text()).doesNotContain(keyBody);
        }
    }

    @Test
    void wrongFingerprintFails() throws Exception {
        RelayTls.ServerCredentials dev = RelayTls.devSelfSigned(null, List.of());
        RelayTls.ServerCredentials other = RelayTls.devSelfSigned(null, List.of());
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(dev.sslContext(), RelayTls.clientPinned(other.fingerprint()));
            assertThat(r.ok()).isFalse();
            assertThat(r.clientError()).isNotNull();
        }
    }

    @Test
    void pemFilesAndCaTrustWithHostNameCheck() throws Exception {
        RelayTls.ServerCredentials dev = RelayTls.devSelfSigned(null, List.of());
        Path crt = tmp.resolve("tls.crt");
        Path key = tmp.resolve("tls.key");
        Files.writeString(crt, Pem.encodeCertificates(dev.chain()));
        SecureFiles.writeAtomically(
                key, Pem.encodePrivateKey(dev.key()).getBytes(StandardCharsets.US_ASCII), SecureFiles.SECRET_PERMS);
        RelayTls.ServerCredentials loaded = RelayTls.loadPem(crt, key);
        assertThat(loaded.fingerprint()).isEqualTo(dev.fingerprint());
        // the self-signed certificate is its own CA; SAN has 127.0.0.1, which the client dials
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(loaded.sslContext(), RelayTls.clientTrustingCaPem(crt));
            assertThat(r.ok())
                    .as("server: %s, client: %s", r.serverError(), r.clientError())
                    .isTrue();
        }
        // system trust does not know it
        try (TlsLoopback loop = new TlsLoopback()) {
            TlsLoopback.Result r = loop.handshake(loaded.sslContext(), RelayTls.clientSystemTrust());
            assertThat(r.ok()).isFalse();
        }
    }

    @Test
    void readsRsaAndEcKeysInLegacyPemForms() throws Exception {
        java.security.KeyPairGenerator rsa = java.security.KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        java.security.KeyPair kp = rsa.generateKeyPair();
        java.io.StringWriter w = new java.io.StringWriter();
        try (org.bouncycastle.openssl.jcajce.JcaPEMWriter pw = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(w)) {
            pw.writeObject(kp); // PKCS#1 "RSA PRIVATE KEY"
        }
        assertThat(w.toString()).contains("BEGIN RSA PRIVATE KEY");
        assertThat(Pem.decodePrivateKey(w.toString()).getAlgorithm()).isEqualTo("RSA");

        java.security.KeyPairGenerator ec = java.security.KeyPairGenerator.getInstance("EC");
        ec.initialize(256);
        // SEC1 "EC PRIVATE KEY" with the named curve inside, as openssl writes it
        org.bouncycastle.asn1.pkcs.PrivateKeyInfo info = org.bouncycastle.asn1.pkcs.PrivateKeyInfo.getInstance(
                ec.generateKeyPair().getPrivate().getEncoded());
        org.bouncycastle.asn1.sec.ECPrivateKey inner =
                org.bouncycastle.asn1.sec.ECPrivateKey.getInstance(info.parsePrivateKey());
        org.bouncycastle.asn1.sec.ECPrivateKey sec1 = new org.bouncycastle.asn1.sec.ECPrivateKey(
                256, inner.getKey(), info.getPrivateKeyAlgorithm().getParameters());
        java.io.StringWriter w2 = new java.io.StringWriter();
        try (org.bouncycastle.util.io.pem.PemWriter pw = new org.bouncycastle.util.io.pem.PemWriter(w2)) {
            pw.writeObject(new org.bouncycastle.util.io.pem.PemObject("EC PRIVATE KEY", sec1.getEncoded()));
        }
        assertThat(w2.toString()).contains("BEGIN EC PRIVATE KEY");
        assertThat(Pem.decodePrivateKey(w2.toString()).getAlgorithm()).isEqualTo("EC");
        assertThatThrownBy(() -> Pem.decodePrivateKey("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
                .isInstanceOf(java.io.IOException.class)
                .hasMessageNotContaining("AAAA");
    }

    @Test
    void fingerprintParsing() {
        String ok = "sha256:" + "ab".repeat(32);
        assertThat(RelayTls.parseFingerprint(ok)).hasSize(32);
        assertThat(RelayTls.parseFingerprint("SHA256:" + "AB:".repeat(31) + "AB"))
                .hasSize(32);
        for (String bad : new String[] {
            null,
            "",
            "ab".repeat(32),
            "sha1:" + "ab".repeat(20),
            "sha256:" + "ab".repeat(31),
            "sha256:" + "zz".repeat(32)
        }) {
            assertThatThrownBy(() -> RelayTls.parseFingerprint(bad))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("sha256:<64 hex digits>");
        }
    }
}
