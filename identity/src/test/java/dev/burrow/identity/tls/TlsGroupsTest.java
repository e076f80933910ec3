package dev.burrow.identity.tls;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.SslContext;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import org.junit.jupiter.api.Test;

/** The relay's TLS server agrees only the documented key exchange groups (docs/security.md). */
class TlsGroupsTest {
    @Test
    void aClientOfferingOnlyFiniteFieldOrUnlistedGroupsIsRefusedAndX25519AndP256Work() throws Exception {
        RelayTls.ServerCredentials creds = RelayTls.devSelfSigned(null, List.of("localhost"));
        SslContext server = creds.sslContext();
        for (String group : List.of("ffdhe2048", "ffdhe8192", "secp521r1", "x448")) {
            try (TlsLoopback loop = new TlsLoopback()) {
                TlsLoopback.Result r =
                        loop.handshake(server, offering(RelayTls.clientPinned(creds.fingerprint()), group));
                assertThat(r.ok()).as(group).isFalse();
            }
        }
        for (String group : TlsGroups.NAMED_GROUPS) {
            try (TlsLoopback loop = new TlsLoopback()) {
                TlsLoopback.Result r =
                        loop.handshake(server, offering(RelayTls.clientPinned(creds.fingerprint()), group));
                assertThat(r.ok())
                        .as("%s: server %s, client %s", group, r.serverError(), r.clientError())
                        .isTrue();
            }
        }
    }

    private static SslContext offering(SslContext client, String group) {
        return new DelegatingSslContext(client) {
            @Override
            protected void initEngine(SSLEngine engine) {
                SSLParameters p = engine.getSSLParameters();
                p.setNamedGroups(new String[] {group});
                engine.setSSLParameters(p);
            }
        };
    }
}
