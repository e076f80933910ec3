package dev.burrow.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.security.Security;
import org.junit.jupiter.api.Test;

/** The burrow JVM caches DNS answers briefly (mesh siblings come and go), unless the operator chose a value. */
class MainDnsCacheTest {
    static final String TTL = "networkaddress.cache.ttl";

    @Test
    void theDnsCacheIsShortUnlessTheOperatorChoseOne() {
        // the JDK's java.security leaves it unset (30 s); Security has no way to unset it again afterwards
        assumeTrue(Security.getProperty(TTL) == null && System.getProperty("sun.net.inetaddr.ttl") == null);
        try {
            Main.shortenDnsCache();
            assertThat(Security.getProperty(TTL)).isEqualTo(Main.DNS_CACHE_SECONDS);
            Security.setProperty(TTL, "17");
            Main.shortenDnsCache();
            assertThat(Security.getProperty(TTL)).isEqualTo("17"); // the operator's choice stays
        } finally {
            Security.setProperty(TTL, Main.DNS_CACHE_SECONDS);
        }
    }
}
