package dev.burrow.relay.docs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.protocol.frame.FrameType;
import dev.burrow.relay.mesh.MeshFrameType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * The frame tables of {@code docs/protocol.md} say what the enums say: every relay frame of
 * {@link FrameType} and every mesh frame of {@link MeshFrameType} is listed with its code and name,
 * and the tables list nothing else (a range such as {@code 0x40–0x4F} marks reserved codes and is
 * skipped).
 */
class ProtocolDocTablesTest {
    private static final Path DOC = Path.of("..", "docs", "protocol.md");

    @Test
    void relayFrameTableMatchesFrameType() throws IOException {
        Map<String, Integer> documented = table("| code | name | dir | payload | max |");
        assertThat(documented)
                .as("relay frames in docs/protocol.md (code by name) against FrameType")
                .containsExactlyInAnyOrderEntriesOf(byName(FrameType.values(), FrameType::name, FrameType::code));
    }

    @Test
    void meshFrameTableMatchesMeshFrameType() throws IOException {
        Map<String, Integer> documented = table("| code | frame | direction | payload |");
        assertThat(documented)
                .as("mesh frames in docs/protocol.md (code by name) against MeshFrameType")
                .containsExactlyInAnyOrderEntriesOf(
                        byName(MeshFrameType.values(), MeshFrameType::name, MeshFrameType::code));
    }

    /** Name → code of the rows of the one table under {@code header}. */
    private static Map<String, Integer> table(String header) throws IOException {
        List<String> lines = Files.readAllLines(DOC);
        int start = lines.indexOf(header);
        assertThat(start).as("table header %s in %s", header, DOC).isNotNegative();
        assertThat(lines.indexOf(header)).as("one table with header %s", header).isEqualTo(lines.lastIndexOf(header));
        Map<String, Integer> rows = new LinkedHashMap<>();
        for (int i = start + 2; i < lines.size() && lines.get(i).startsWith("|"); i++) {
            String[] cells = lines.get(i).split("\\|");
            String code = cells[1].strip();
            String name = cells[2].strip();
            if (!code.matches("0x[0-9A-Fa-f]{2}")) {
                continue; // a reserved range
            }
            Integer previous = rows.put(name, Integer.parseInt(code.substring(2), 16));
            assertThat(previous).as("%s listed once", name).isNull();
        }
        return rows;
    }

    private static <T> Map<String, Integer> byName(T[] values, Function<T, String> name, Function<T, Integer> code) {
        return Arrays.stream(values).collect(Collectors.toMap(name, code, (a, b) -> a, LinkedHashMap::new));
    }
}
