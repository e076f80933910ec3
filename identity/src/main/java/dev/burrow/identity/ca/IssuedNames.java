package dev.burrow.identity.ca;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.LockedFile;
import dev.burrow.identity.NodeKey;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's record of issued names, {@value #FILE} (0600) in the CA directory: which node key holds
 * each name. A name belongs to one key: the same key may be issued it again (renewal), another key
 * only after the operator released it ({@code burrow ca revoke NAME}) or replaced the holder
 * ({@code burrow ca issue --replace}). Changes are transactions under a {@link LockedFile} on
 * {@value #LOCK_FILE}, like the join token store, so concurrent enrolments in one relay or in
 * several processes never give one name to two keys.
 *
 * <p>{@link #holder} serves the relay's name lookups on its event loop: it reads a snapshot that
 * is refreshed when the file's modification time changes, looked at most every {@link #CHECK_INTERVAL}.
 */
public final class IssuedNames {
    private static final Logger log = LoggerFactory.getLogger(IssuedNames.class);

    public static final String FILE = "names.json";
    public static final String LOCK_FILE = "names.lock";
    /** Refuse a record larger than this (about 40k names). */
    public static final long MAX_FILE_BYTES = 8L * 1024 * 1024;
    /** How often {@link #holder} looks at the file's modification time. */
    public static final Duration CHECK_INTERVAL = Duration.ofSeconds(1);

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    /** A name and the node key that holds it; {@code since} is when that key first got it. */
    @JsonIgnoreProperties(ignoreUnknown = true)
    public record Holder(String name, String nodeId, long since, long lastIssued) {
        public NodeKey key() {
            return NodeKey.parse(nodeId);
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record RecordFile(int version, List<Holder> names) {}

    /** The name belongs to another node key. The message says how the operator can release it. */
    public static final class NameTakenException extends Exception {
        private final String name;
        private final NodeKey holder;

        NameTakenException(String name, NodeKey holder) {
            super(
                    "name '" + name
                            + "' belongs to another node; the CA operator can release it with 'burrow ca revoke " + name
                            + "' (or issue it with 'burrow ca issue --replace')",
                    null,
                    false,
                    false);
            this.name = name;
            this.holder = holder;
        }

        public String name() {
            return name;
        }

        public NodeKey holder() {
            return holder;
        }
    }

    private final Path file;
    private final LockedFile lock;
    private final Clock clock;
    private volatile Map<String, NodeKey> snapshot = Map.of();
    private volatile FileTime snapshotMtime;
    private volatile Instant nextCheck = Instant.MIN;

    private IssuedNames(Path dir, Clock clock) {
        this.file = dir.resolve(FILE);
        this.lock = new LockedFile(dir.resolve(LOCK_FILE));
        this.clock = clock;
    }

    /** The record in a CA directory (created when missing). */
    public static IssuedNames open(Path caDir, Clock clock) throws IOException {
        SecureFiles.ensurePrivateDir(caDir);
        IssuedNames names = new IssuedNames(caDir, clock);
        names.refresh();
        return names;
    }

    /**
     * Claims the first of {@code candidates} that is free or already held by {@code key}. With
     * {@code replace}, the first candidate is taken from its holder when none is.
     *
     * @return the name claimed
     * @throws NameTakenException (for the first candidate) when every candidate belongs to another key
     */
    public String claim(NodeKey key, List<String> candidates, boolean replace) throws NameTakenException, IOException {
        if (candidates.isEmpty()) {
            throw new IllegalArgumentException("no name to claim");
        }
        for (String c : candidates) {
            CertificateProfile.requireValidName(c);
        }
        long now = clock.instant().getEpochSecond();
        return lock.<String, NameTakenException>withLock(() -> {
            List<Holder> entries = read();
            Map<String, Integer> index = new HashMap<>();
            for (int i = 0; i < entries.size(); i++) {
                index.put(entries.get(i).name(), i);
            }
            for (String c : candidates) {
                Integer i = index.get(c);
                if (i == null) {
                    entries.add(new Holder(c, key.nodeId(), now, now));
                    write(entries);
                    log.info("name '{}' now held by node {}", c, key.shortId());
                    return c;
                }
                Holder h = entries.get(i);
                if (h.nodeId().equals(key.nodeId())) {
                    entries.set(i, new Holder(c, h.nodeId(), h.since(), now));
                    write(entries);
                    return c;
                }
            }
            String first = candidates.get(0);
            Holder previous = entries.get(index.get(first));
            if (!replace) {
                throw new NameTakenException(first, previous.key());
            }
            entries.set(index.get(first), new Holder(first, key.nodeId(), now, now));
            write(entries);
            log.warn(
                    "name '{}' moved from node {} to node {} (replaced by the operator)",
                    first,
                    previous.key().shortId(),
                    key.shortId());
            return first;
        });
    }

    /** Releases a name; the holder it had, if any. */
    public Optional<Holder> release(String name) throws IOException {
        return lock.<Optional<Holder>, RuntimeException>withLock(() -> {
            List<Holder> entries = read();
            for (int i = 0; i < entries.size(); i++) {
                if (entries.get(i).name().equals(name)) {
                    Holder h = entries.remove(i);
                    write(entries);
                    log.info("name '{}' released by node {}", name, h.key().shortId());
                    return Optional.of(h);
                }
            }
            return Optional.empty();
        });
    }

    /** Every recorded name, sorted. */
    public List<Holder> list() throws IOException {
        List<Holder> all = read();
        all.sort(Comparator.comparing(Holder::name));
        return all;
    }

    /**
     * The key that holds {@code name} per the record, from a snapshot refreshed when the file changes;
     * empty when the name is not recorded. Never throws: an unreadable record keeps the last good one.
     */
    public Optional<NodeKey> holder(String name) {
        Instant now = clock.instant();
        if (!now.isBefore(nextCheck)) {
            nextCheck = now.plus(CHECK_INTERVAL);
            try {
                refresh();
            } catch (IOException | RuntimeException e) {
                log.error("name record {} could not be read, keeping the previous one: {}", file, e.getMessage());
            }
        }
        return Optional.ofNullable(snapshot.get(name));
    }

    private void refresh() throws IOException {
        FileTime mtime;
        try {
            mtime = Files.getLastModifiedTime(file);
        } catch (NoSuchFileException e) {
            snapshot = Map.of();
            snapshotMtime = null;
            return;
        }
        if (!mtime.equals(snapshotMtime)) {
            List<Holder> entries = read();
            snapshotMtime = mtime;
            snapshot = toMap(entries);
        }
    }

    private static Map<String, NodeKey> toMap(List<Holder> entries) {
        Map<String, NodeKey> m = new HashMap<>();
        for (Holder h : entries) {
            m.put(h.name(), h.key());
        }
        return Map.copyOf(m);
    }

    private List<Holder> read() throws IOException {
        if (!Files.exists(file)) {
            return new ArrayList<>();
        }
        SecureFiles.requireOwnerOnly(file);
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        RecordFile rf;
        try {
            rf = JSON.readValue(Files.readAllBytes(file), RecordFile.class);
        } catch (IOException e) {
            throw new IOException(
                    file + ": cannot parse the name record (" + e.getClass().getSimpleName() + ")");
        }
        if (rf.version() != 1) {
            throw new IOException(file + ": unsupported name record version " + rf.version());
        }
        List<Holder> entries = new ArrayList<>(rf.names() == null ? List.of() : rf.names());
        for (Holder h : entries) {
            if (h == null || !CertificateProfile.isValidName(h.name())) {
                throw new IOException(file + ": invalid entry");
            }
            try {
                h.key();
            } catch (IllegalArgumentException bad) {
                throw new IOException(file + ": invalid node ID for name '" + h.name() + "'");
            }
        }
        return entries;
    }

    private void write(List<Holder> entries) throws IOException {
        SecureFiles.writeAtomically(file, JSON.writeValueAsBytes(new RecordFile(1, entries)), SecureFiles.SECRET_PERMS);
        snapshot = toMap(entries); // this process sees its own claims at once
        snapshotMtime = null;
    }
}
