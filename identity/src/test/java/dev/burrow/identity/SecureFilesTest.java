package dev.burrow.identity;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.tls.RelayTls;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecureFilesTest {
    @TempDir
    Path tmp;

    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    @Test
    void everyDirectoryWeCreateIsOwnerOnlyParentsIncluded() throws Exception {
        Path home = tmp.resolve("home");
        Files.createDirectory(home);
        Files.setPosixFilePermissions(home, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path state = home.resolve(".burrow").resolve("agents").resolve("web");

        SecureFiles.ensurePrivateDir(state);

        assertThat(mode(home.resolve(".burrow"))).isEqualTo("rwx------");
        assertThat(mode(home.resolve(".burrow").resolve("agents"))).isEqualTo("rwx------");
        assertThat(mode(state)).isEqualTo("rwx------");
        assertThat(mode(home)).as("an existing directory is left as it is").isEqualTo("rwxr-xr-x");
    }

    @Test
    void relayDevCertificateDirectoryLeavesTheStateDirectoryOwnerOnly() throws Exception {
        // burrow relay --dev keeps its certificate in <state dir>/relay-dev-tls: ~/.burrow used to be made 0755.
        Path state = tmp.resolve(".burrow");
        RelayTls.devSelfSigned(state.resolve("relay-dev-tls"), List.of("localhost"));

        assertThat(mode(state)).isEqualTo("rwx------");
        assertThat(mode(state.resolve("relay-dev-tls"))).isEqualTo("rwx------");
    }
}
