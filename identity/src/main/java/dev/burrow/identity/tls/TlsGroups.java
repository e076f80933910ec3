package dev.burrow.identity.tls;

import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

/**
 * The key exchange groups Burrow's TLS servers accept (the relay's port, and a node's end-to-end
 * TLS on circuits), listed in {@code docs/security.md}. The JDK would also accept secp521r1, x448
 * and the finite-field groups ffdhe2048 to ffdhe8192: the client picks the group, and a finite-field
 * key share makes the server do a modular exponentiation per handshake (ffdhe8192 costs it far more
 * than x25519), so any client could multiply the relay's handshake CPU; ffdhe2048 is also only a
 * 112-bit group. Every client we know (the JDK, browsers, curl, OpenSSL) offers x25519 or P-256.
 */
public final class TlsGroups {
    /** In order of preference. */
    public static final List<String> NAMED_GROUPS = List.of("x25519", "secp256r1", "secp384r1");

    private TlsGroups() {}

    /** {@code context}, with every engine it creates limited to {@link #NAMED_GROUPS}. */
    public static SslContext restrict(SslContext context) {
        return new DelegatingSslContext(context) {
            @Override
            protected void initEngine(SSLEngine engine) {
                SSLParameters p = engine.getSSLParameters();
                p.setNamedGroups(NAMED_GROUPS.toArray(String[]::new));
                engine.setSSLParameters(p);
            }
        };
    }
}
