package dev.burrow.identity;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Revoked node IDs and certificate serials, optionally backed by a file that is re-read when it
 * changes.
 *
 * <p>File format, one entry a line, {@code #} starts a comment:
 * <pre>
 * node  &lt;nodeId&gt;
 * serial &lt;hex serial&gt;
 * </pre>
 * A file that cannot be parsed at start-up fails start-up; a later bad edit keeps the last good list
 * and logs an error (revocations are never silently dropped).
 */
public final class RevocationList {
    private static final Logger log = LoggerFactory.getLogger(RevocationList.class);
    /** How often the file's modification time is looked at. */
    public static final Duration CHECK_INTERVAL = Duration.ofSeconds(2);
    /** Refuse revocation files over this size: a line is ~70 bytes, so ~60k entries. */
    public static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    private record Snapshot(Set<NodeKey> nodes, Set<BigInteger> serials) {}

    private final Path file;
    private final Clock clock;
    private volatile Snapshot snapshot;
    private volatile FileTime loadedMtime;
    private volatile Instant nextCheck;

    private RevocationList(Path file, Clock clock, Snapshot snapshot) {
        this.file = file;
        this.clock = clock;
        this.snapshot = snapshot;
        this.nextCheck = clock.instant().plus(CHECK_INTERVAL);
    }

    /** An empty list. */
    public static RevocationList empty() {
        return new RevocationList(null, Clock.systemUTC(), new Snapshot(Set.of(), Set.of()));
    }

    /** A fixed list (tests, config). */
    public static RevocationList of(Set<NodeKey> nodes, Set<BigInteger> serials) {
        return new RevocationList(null, Clock.systemUTC(), new Snapshot(Set.copyOf(nodes), Set.copyOf(serials)));
    }

    /** Loads a revocation file; fails when it is missing or malformed. */
    public static RevocationList load(Path file, Clock clock) throws IOException {
        RevocationList list = new RevocationList(file, clock, new Snapshot(Set.of(), Set.of()));
        list.reload();
        return list;
    }

    /** Re-reads the file now. */
    public synchronized void reload() throws IOException {
        if (file == null) {
            return;
        }
        FileTime mtime = Files.getLastModifiedTime(file);
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        snapshot = parse(file, Files.readAllLines(file, StandardCharsets.UTF_8));
        loadedMtime = mtime;
        log.info(
                "loaded revocation list {}: {} node(s), {} serial(s)",
                file,
                snapshot.nodes().size(),
                snapshot.serials().size());
    }

    private static Snapshot parse(Path file, List<String> lines) throws IOException {
        Set<NodeKey> nodes = new HashSet<>();
        Set<BigInteger> serials = new HashSet<>();
        int n = 0;
        for (String raw : lines) {
            n++;
            int hash = raw.indexOf('#');
            String line = (hash >= 0 ? raw.substring(0, hash) : raw).strip();
            if (line.isEmpty()) {
                continue;
            }
            String[] parts = line.split("\\s+");
            try {
                if (parts.length == 2 && parts[0].equalsIgnoreCase("node")) {
                    nodes.add(NodeKey.parse(parts[1]));
                } else if (parts.length == 2 && parts[0].equalsIgnoreCase("serial") && parts[1].length() <= 64) {
                    serials.add(new BigInteger(parts[1].toLowerCase(Locale.ROOT).replace(":", ""), 16));
                } else {
                    throw new IllegalArgumentException("expected 'node <nodeId>' or 'serial <hex>'");
                }
            } catch (IllegalArgumentException e) {
                throw new IOException(file + ":" + n + ": " + e.getMessage());
            }
        }
        return new Snapshot(Set.copyOf(nodes), Set.copyOf(serials));
    }

    /** Re-reads the file when its modification time changed, at most every {@link #CHECK_INTERVAL}. */
    public void reloadIfChanged() {
        if (file == null) {
            return;
        }
        Instant now = clock.instant();
        if (now.isBefore(nextCheck)) {
            return;
        }
        nextCheck = now.plus(CHECK_INTERVAL);
        try {
            if (!Files.getLastModifiedTime(file).equals(loadedMtime)) {
                reload();
            }
        } catch (IOException e) {
            log.error("revocation list {} could not be reloaded, keeping the previous one: {}", file, e.getMessage());
        }
    }

    /** True when the node or (for a CA-issued certificate) the serial is revoked. */
    public boolean isRevoked(NodeKey node, BigInteger serialOrNull) {
        reloadIfChanged();
        Snapshot s = snapshot;
        return s.nodes().contains(node) || (serialOrNull != null && s.serials().contains(serialOrNull));
    }
}
