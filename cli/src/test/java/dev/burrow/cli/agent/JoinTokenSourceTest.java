package dev.burrow.cli.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.burrow.cli.common.UsageException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JoinTokenSourceTest {
    static final String TOKEN = "bjt1.abcdefghijklmnop.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    @TempDir
    Path tmp;

    final StringWriter err = new StringWriter();

    private String read(String option, Path file, String env, String stdin) {
        InputStream in = new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8));
        return JoinTokenSource.read(option, file, env, in, new PrintWriter(err));
    }

    @Test
    void fileStdinAndEnvironmentGiveTheTokenWithoutAWarning() throws Exception {
        Path f = tmp.resolve("token");
        Files.writeString(f, TOKEN + "\n");
        assertThat(read(null, f, null, "")).isEqualTo(TOKEN);
        assertThat(read("-", null, null, "\n  " + TOKEN + "  \nignored\n")).isEqualTo(TOKEN);
        assertThat(read(null, null, " " + TOKEN + " ", "")).isEqualTo(TOKEN);
        assertThat(read(null, null, null, "")).isNull();
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void onTheCommandLineItStillWorksButWarnsWithoutEchoingIt() {
        assertThat(read(TOKEN, null, null, "")).isEqualTo(TOKEN);
        assertThat(err.toString())
                .contains("process list")
                .contains("--join-file")
                .contains("--join -")
                .contains(AgentCommand.JOIN_ENV)
                .doesNotContain(TOKEN);
    }

    @Test
    void twoSourcesOrNothingUsableAreUsageErrors() throws Exception {
        Path f = tmp.resolve("token");
        Files.writeString(f, TOKEN);
        assertThatThrownBy(() -> read(TOKEN, f, null, ""))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("not both");
        assertThatThrownBy(() -> read("-", null, null, "\n\n"))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("no join token");
        assertThatThrownBy(() -> read(null, tmp.resolve("missing"), null, ""))
                .isInstanceOf(UsageException.class)
                .hasMessageContaining("cannot read");
        assertThatThrownBy(() -> read("-", null, null, "x".repeat(5000))).isInstanceOf(UsageException.class);
    }
}
