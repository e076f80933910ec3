package dev.burrow.identity;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.util.io.pem.PemObject;

/** PEM reading and writing for certificates and private keys. */
public final class Pem {
    /** Certificate files larger than this are refused: a chain of a few certificates is a few KiB. */
    public static final int MAX_PEM_BYTES = 256 * 1024;

    private Pem() {}

    /** Encodes certificates as concatenated {@code CERTIFICATE} blocks. */
    public static String encodeCertificates(List<X509Certificate> certs) {
        StringBuilder sb = new StringBuilder();
        for (X509Certificate c : certs) {
            try {
                sb.append(block("CERTIFICATE", c.getEncoded()));
            } catch (CertificateException e) {
                throw new IllegalStateException("cannot encode certificate", e);
            }
        }
        return sb.toString();
    }

    /** Encodes a private key as PKCS#8 ({@code PRIVATE KEY}). */
    public static String encodePrivateKey(PrivateKey key) {
        return block("PRIVATE KEY", key.getEncoded());
    }

    private static String block(String type, byte[] der) {
        return "-----BEGIN " + type + "-----\n"
                + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der)
                + "\n-----END " + type + "-----\n";
    }

    /** Decodes every {@code CERTIFICATE} block in {@code pem}, in order. */
    public static List<X509Certificate> decodeCertificates(String pem) throws CertificateException {
        if (pem.length() > MAX_PEM_BYTES) {
            throw new CertificateException("PEM text too large (" + pem.length() + " > " + MAX_PEM_BYTES + ")");
        }
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            PemObject obj;
            while ((obj = parser.readPemObject()) != null) {
                if ("CERTIFICATE".equals(obj.getType())) {
                    out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(obj.getContent())));
                }
            }
        } catch (IOException e) {
            throw new CertificateException("malformed PEM", e);
        }
        if (out.isEmpty()) {
            throw new CertificateException("no CERTIFICATE block found");
        }
        return out;
    }

    /** Reads certificates from a PEM file. */
    public static List<X509Certificate> readCertificates(Path file) throws IOException, CertificateException {
        return decodeCertificates(readSmall(file));
    }

    /**
     * Decodes a private key: PKCS#8 ({@code PRIVATE KEY}), PKCS#1 ({@code RSA PRIVATE KEY}) or SEC1
     * ({@code EC PRIVATE KEY}). Error messages never contain key material.
     */
    public static PrivateKey decodePrivateKey(String pem) throws IOException {
        JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            Object obj;
            while ((obj = parser.readObject()) != null) {
                if (obj instanceof PrivateKeyInfo info) {
                    return converter.getPrivateKey(info);
                }
                if (obj instanceof PEMKeyPair pair) {
                    return converter.getPrivateKey(pair.getPrivateKeyInfo()); // SEC1 keys may omit the public part
                }
            }
        } catch (IOException | RuntimeException e) {
            // Parser messages may quote input; keep only the type.
            throw new IOException("malformed private key PEM (" + e.getClass().getSimpleName()
                    + (e.getCause() == null
                            ? ""
                            : " caused by " + e.getCause().getClass().getSimpleName()) + ")");
        }
        throw new IOException(
                "no unencrypted private key block found (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)");
    }

    /** Reads a private key PEM file. */
    public static PrivateKey readPrivateKey(Path file) throws IOException {
        try {
            return decodePrivateKey(readSmall(file));
        } catch (IOException e) {
            throw new IOException(file + ": " + e.getMessage());
        }
    }

    /** Reads a text file, refusing files over {@link #MAX_PEM_BYTES}. */
    public static String readSmall(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_PEM_BYTES) {
            throw new IOException(file + " is too large for a PEM file (" + size + " bytes)");
        }
        return Files.readString(file, StandardCharsets.US_ASCII);
    }

    /** Writes text into a StringWriter-backed PEM (for callers that need a String). */
    static String toText(StringWriter w) {
        return w.toString();
    }
}
