package dev.burrow.agent.relay;

import dev.burrow.identity.tls.RelayTls;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * How the client decides that it talks to the right relay (the TLS server certificate check).
 * Node identity is proven separately, inside TLS, by the auth frame.
 */
public sealed interface RelayTrust {

    /** Builds the TLS 1.3 client context for this trust choice. */
    SslContext sslContext() throws IOException;

    /** Trust exactly the certificate with this SHA-256 fingerprint ({@code sha256:<hex>}); no host name check. */
    record Pinned(String fingerprint) implements RelayTrust {
        public Pinned {
            RelayTls.parseFingerprint(fingerprint); // fail at configuration time, with the expected form
        }

        @Override
        public SslContext sslContext() throws IOException {
            return RelayTls.clientPinned(fingerprint);
        }
    }

    /** Trust the CA certificates of a PEM file, with host name verification. */
    record CaFile(Path caPem) implements RelayTrust {
        public CaFile {
            Objects.requireNonNull(caPem, "caPem");
        }

        @Override
        public SslContext sslContext() throws IOException {
            return RelayTls.clientTrustingCaPem(caPem);
        }
    }

    /** Trust the system trust store, with host name verification (a relay with a public certificate). */
    record SystemTrust() implements RelayTrust {
        @Override
        public SslContext sslContext() throws IOException {
            return RelayTls.clientSystemTrust();
        }
    }

    static RelayTrust pinned(String fingerprint) {
        return new Pinned(fingerprint);
    }

    static RelayTrust caFile(Path caPem) {
        return new CaFile(caPem);
    }

    static RelayTrust system() {
        return new SystemTrust();
    }
}
