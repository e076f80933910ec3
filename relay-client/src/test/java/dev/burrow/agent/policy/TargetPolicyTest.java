package dev.burrow.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Attack, disguised local targets: only the exact configured target, whatever form the address takes. */
class TargetPolicyTest {
    static final TargetPolicy LOOPBACK_8080 = TargetPolicy.of(TargetSpec.parse("127.0.0.1:8080"));

    static InetSocketAddress at(String literal, int port) throws UnknownHostException {
        return new InetSocketAddress(InetAddress.getByName(literal), port);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "0.1.2.3",
                "127.0.0.2",
                "::1",
                "169.254.169.254",
                "fe80::1",
                "fd00::1",
                "fec0::1",
                "10.0.0.1",
                "::ffff:169.254.169.254",
                "64:ff9b::a9fe:a9fe",
                "2002:a9fe:a9fe::",
                "::ffff:127.0.0.2"
            })
    void everyOtherAddressIsRefused(String literal) throws Exception {
        assertThat(LOOPBACK_8080.check(at(literal, 8080))).isInstanceOf(TargetPolicy.Decision.Refused.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"0.0.0.0", "::", "224.0.0.1", "ff02::1", "255.255.255.255", "::ffff:0.0.0.0"})
    void nonHostAddressesAreRefusedEvenAtCheckTime(String literal) throws Exception {
        assertThat(LOOPBACK_8080.check(at(literal, 8080))).isInstanceOf(TargetPolicy.Decision.Refused.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "::ffff:127.0.0.1", "::7f00:1", "64:ff9b::7f00:1", "2002:7f00:0001::"})
    void embeddedIpv4FormsOfTheTargetAreCanonicalisedAndConnectToTheIpv4Address(String literal) throws Exception {
        TargetPolicy.Decision d = LOOPBACK_8080.check(at(literal, 8080));
        assertThat(d).isEqualTo(new TargetPolicy.Decision.Allowed(at("127.0.0.1", 8080)));
    }

    @Test
    void anotherPortIsRefused() throws Exception {
        assertThat(LOOPBACK_8080.check(at("127.0.0.1", 8081))).isInstanceOf(TargetPolicy.Decision.Refused.class);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "0.0.0.0:80",
                "[::]:80",
                "224.0.0.1:80",
                "[ff02::1]:80",
                "255.255.255.255:80",
                "[::ffff:0.0.0.0]:80",
                "0.1.2.3:80"
            })
    void nonHostTargetsAreRejectedAtConfigurationTime(String target) {
        assertThatThrownBy(() -> TargetPolicy.of(TargetSpec.parse(target)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void explicitlyConfiguredUnusualTargetsAreHonoured() throws Exception {
        // The operator wrote exactly this (host, port): that is the allowlist.
        TargetPolicy p = TargetPolicy.of(TargetSpec.parse("[::1]:22"));
        assertThat(p.decide()).isEqualTo(new TargetPolicy.Decision.Allowed(at("::1", 22)));
    }

    @Test
    void dnsRebindingBetweenConfigurationAndConnectIsRefused() throws Exception {
        AtomicReference<List<String>> dns = new AtomicReference<>(List.of("127.0.0.1"));
        TargetPolicy.Resolver resolver = host -> {
            List<String> now = dns.get();
            InetAddress[] out = new InetAddress[now.size()];
            for (int i = 0; i < out.length; i++) {
                out[i] = InetAddress.getByAddress(
                        host, InetAddress.getByName(now.get(i)).getAddress());
            }
            return out;
        };
        TargetPolicy p = TargetPolicy.of(new TargetSpec("web.internal", 8080), resolver);
        assertThat(p.decide()).isInstanceOf(TargetPolicy.Decision.Allowed.class);
        for (String evil :
                List.of("169.254.169.254", "0.0.0.0", "127.0.0.2", "::ffff:169.254.169.254", "::1", "224.0.0.1")) {
            dns.set(List.of(evil));
            assertThat(p.decide()).as(evil).isInstanceOf(TargetPolicy.Decision.Refused.class);
        }
        // A name that resolves to the pinned address among others: the pinned one is used.
        dns.set(List.of("169.254.169.254", "::ffff:127.0.0.1"));
        TargetPolicy.Decision d = p.decide();
        assertThat(d).isInstanceOf(TargetPolicy.Decision.Allowed.class);
        InetSocketAddress to = ((TargetPolicy.Decision.Allowed) d).connectTo();
        assertThat(to.isUnresolved()).isFalse();
        assertThat(to.getAddress().getHostAddress()).isEqualTo("127.0.0.1");
        dns.set(List.of());
        assertThat(p.decide()).isInstanceOf(TargetPolicy.Decision.Refused.class);
    }

    @Test
    void nameResolvingToANonHostAddressIsRejectedAtConfigurationTime() {
        TargetPolicy.Resolver resolver = host -> new InetAddress[] {InetAddress.getByName("0.0.0.0")};
        assertThatThrownBy(() -> TargetPolicy.of(new TargetSpec("evil.example", 80), resolver))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void canonicalFormsOfAddresses() throws Exception {
        assertThat(Addresses.canonical(InetAddress.getByName("::1"))).isEqualTo(InetAddress.getByName("::1"));
        assertThat(Addresses.canonical(InetAddress.getByName("::"))).isEqualTo(InetAddress.getByName("::"));
        assertThat(Addresses.canonical(InetAddress.getByName("2001:0:4136:e378:8000:63bf:80ff:fffe")))
                .isEqualTo(InetAddress.getByName("127.0.0.1"));
        assertThat(Addresses.canonical(InetAddress.getByName("2001:db8::1")))
                .isEqualTo(InetAddress.getByName("2001:db8::1"));
    }
}
