package dev.burrow.identity.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.identity.NodeCertificate;
import dev.burrow.identity.SecureFiles;
import dev.burrow.identity.testing.TestIdentities;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FleetCaTest {
    @TempDir
    Path tmp;

    @Test
    void initCreatesOwnerOnlyFilesAndLoads() throws Exception {
        Path dir = tmp.resolve("ca");
        FleetCa ca = FleetCa.init(dir, "prod", Clock.systemUTC());
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)))
                .isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(FleetCa.KEY_FILE))))
                .isEqualTo("rw-------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(FleetCa.CERT_FILE))))
                .isEqualTo("rw-------");
        assertThat(ca.certificate().getBasicConstraints()).isEqualTo(0);
        assertThat(ca.certificate().getSigAlgName()).isIn("Ed25519", "EdDSA");

        FleetCa loaded = FleetCa.load(dir, Clock.systemUTC());
        assertThat(loaded.certificate()).isEqualTo(ca.certificate());
        assertThatThrownBy(() -> FleetCa.init(dir, "prod", Clock.systemUTC())).hasMessageContaining("already exists");

        Files.setPosixFilePermissions(dir.resolve(FleetCa.KEY_FILE), PosixFilePermissions.fromString("rw-r-----"));
        assertThatThrownBy(() -> FleetCa.load(dir, Clock.systemUTC()))
                .isInstanceOf(SecureFiles.InsecureFileException.class);
        assertThatThrownBy(() -> FleetCa.load(tmp.resolve("nope"), Clock.systemUTC()))
                .hasMessageContaining("burrow ca init");
    }

    @Test
    void issuesProfileCertificatesWithRandomSerials() throws Exception {
        FleetCa ca = FleetCa.init(tmp.resolve("ca"), "prod", Clock.systemUTC());
        Set<BigInteger> serials = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            X509Certificate c =
                    ca.issue(TestIdentities.randomNodeKey(), "n" + i, Set.of("dev", "eu"), Duration.ofDays(30));
            NodeCertificate nc = NodeCertificate.parse(c);
            assertThat(nc.name()).isEqualTo("n" + i);
            assertThat(nc.tags()).containsExactly("dev", "eu");
            assertThat(nc.selfIssued()).isFalse();
            assertThat(nc.serial().signum()).isPositive();
            assertThat(nc.serial().bitLength()).isLessThanOrEqualTo(128);
            assertThat(c.getExtendedKeyUsage()).contains("1.3.6.1.5.5.7.3.1", "1.3.6.1.5.5.7.3.2");
            assertThat(c.getBasicConstraints()).isEqualTo(-1);
            serials.add(nc.serial());
        }
        assertThat(serials).hasSize(20);
        assertThat(serials.stream().mapToInt(BigInteger::bitLength).max().orElseThrow())
                .isGreaterThan(100);
    }

    @Test
    void refusesBadInput() throws Exception {
        FleetCa ca = FleetCa.init(tmp.resolve("ca"), "prod", Clock.systemUTC());
        assertThatThrownBy(() -> ca.issue(TestIdentities.randomNodeKey(), "Bad Name", Set.of(), Duration.ofDays(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ca.issue(TestIdentities.randomNodeKey(), "ok", Set.of("BAD"), Duration.ofDays(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() ->
                        ca.issue(dev.burrow.identity.NodeKey.of(new byte[32]), "ok", Set.of(), Duration.ofDays(1)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> ca.issue(TestIdentities.randomNodeKey(), "ok", Set.of(), Duration.ofDays(10000)))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> FleetCa.init(tmp.resolve("ca2"), "Bad Name", Clock.systemUTC()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
