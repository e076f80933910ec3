package dev.burrow.identity.token;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.burrow.identity.CertificateProfile;
import dev.burrow.identity.LockedFile;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Join tokens, stored next to the fleet CA in {@value #FILE} (0600): only each token's id,
 * secret hash, tags, optional name, uses left and expiry are kept, never the secret.
 *
 * <p>Every change is one transaction: take the {@link LockedFile} lock on {@value #LOCK_FILE}
 * (threads and other processes), read, change, write a temporary file and rename it over the old
 * one. {@link #consume} checks and consumes in the same transaction, so
 * a one-time token used by two callers at once succeeds exactly once (concurrent use of one-time tokens).
 */
public final class JoinTokenStore {
    private static final Logger log = LoggerFactory.getLogger(JoinTokenStore.class);

    public static final String FILE = "tokens.json";
    public static final String LOCK_FILE = "tokens.lock";
    /** Most uses of one token: a reusable token is a standing credential, keep it bounded. */
    public static final int MAX_USES = 1000;
    /** Longest token lifetime. */
    public static final Duration MAX_TTL = Duration.ofDays(30);
    /** Expired or used-up entries are kept this long (so they are reported as such), then pruned. */
    public static final Duration KEEP_AFTER_END = Duration.ofDays(7);
    /** Refuse a store file larger than this (about 10k tokens). */
    public static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    /**
     * What a token grants when it is consumed.
     *
     * @param name the name the token fixes, or null
     * @param namePrefix the prefix every name enrolled with the token must start with, or null
     */
    public record TokenGrant(String id, Set<String> tags, String name, String namePrefix) {
        public TokenGrant(String id, Set<String> tags, String name) {
            this(id, tags, name, null);
        }
    }

    /** A token as listed (no secret, no hash). */
    public record TokenInfo(
            String id,
            Set<String> tags,
            String name,
            String namePrefix,
            int usesLeft,
            int uses,
            Instant createdAt,
            Instant expiresAt,
            boolean revoked) {}

    /**
     * A last check of what a token grants, run inside the consuming transaction (the CA claims the
     * node's name here): when it throws, the token is not used up.
     */
    public interface GrantCheck<X extends Exception> {
        void check(TokenGrant grant) throws X;
    }

    /** Carries a {@link GrantCheck}'s exception out of the transaction. */
    private static final class CheckFailed extends RuntimeException {
        CheckFailed(Exception cause) {
            super(null, cause, false, false);
        }
    }

    /** A new token: {@link JoinToken#reveal()} is the text to hand out once. */
    public record CreatedToken(JoinToken token, TokenInfo info) {
        @Override
        public String toString() {
            return "CreatedToken[" + info.id() + "]";
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record Entry(
            String id,
            String secretHash,
            List<String> tags,
            String name,
            int usesLeft,
            int uses,
            long createdAt,
            long expiresAt,
            boolean revoked,
            String namePrefix) {
        TokenInfo info() {
            return new TokenInfo(
                    id,
                    Set.copyOf(tags),
                    name,
                    namePrefix,
                    usesLeft,
                    uses,
                    Instant.ofEpochSecond(createdAt),
                    Instant.ofEpochSecond(expiresAt),
                    revoked);
        }

        Entry withUsesLeft(int n) {
            return new Entry(id, secretHash, tags, name, n, uses, createdAt, expiresAt, revoked, namePrefix);
        }

        Entry revoke() {
            return new Entry(id, secretHash, tags, name, usesLeft, uses, createdAt, expiresAt, true, namePrefix);
        }
    }

    @JsonIgnoreProperties(ignoreUnknown = true)
    record StoreFile(int version, List<Entry> tokens) {}

    private interface Transaction<T> {
        T apply(List<Entry> entries) throws InvalidTokenException;
    }

    private final Path dir;
    private final Path file;
    private final Path lockFile;
    private final Clock clock;
    private final LockedFile lock;

    private JoinTokenStore(Path dir, Clock clock) {
        this.dir = dir;
        this.file = dir.resolve(FILE);
        this.lockFile = dir.resolve(LOCK_FILE);
        this.clock = clock;
        this.lock = new LockedFile(lockFile);
    }

    /** The token store in a CA directory (created when missing). */
    public static JoinTokenStore open(Path caDir, Clock clock) throws IOException {
        SecureFiles.ensurePrivateDir(caDir);
        return new JoinTokenStore(caDir, clock);
    }

    /**
     * Creates a token.
     *
     * @param name a node name the token fixes, or null to let the node ask for one; a fixed name
     *     needs {@code uses == 1} (two nodes must never get the same name)
     * @throws IllegalArgumentException for bad tags, name, uses or ttl
     */
    public CreatedToken create(Set<String> tags, int uses, Duration ttl, String name) throws IOException {
        return create(tags, uses, ttl, name, null);
    }

    /**
     * Creates a token that fixes a name, a name prefix, or neither (then the node gets a free name:
     * see {@code EnrolmentService}).
     *
     * @param namePrefix every name enrolled with the token must start with it (e.g. {@code ci-}), or null
     * @throws IllegalArgumentException for bad tags, name, prefix, uses or ttl, or both a name and a prefix
     */
    public CreatedToken create(Set<String> tags, int uses, Duration ttl, String name, String namePrefix)
            throws IOException {
        Set<String> validTags = CertificateProfile.requireValidTags(tags);
        if (name != null && namePrefix != null) {
            throw new IllegalArgumentException("a token fixes either a name or a name prefix, not both");
        }
        if (namePrefix != null && !CertificateProfile.isValidNamePrefix(namePrefix)) {
            throw new IllegalArgumentException(
                    "invalid name prefix '" + namePrefix + "': 1-" + CertificateProfile.MAX_NAME_PREFIX_LENGTH
                            + " of a-z, 0-9 and '-', starting with a letter or digit");
        }
        if (name != null) {
            CertificateProfile.requireValidName(name);
            if (uses != 1) {
                throw new IllegalArgumentException("a token that fixes a name can be used only once (--uses 1)");
            }
        }
        if (uses < 1 || uses > MAX_USES) {
            throw new IllegalArgumentException("uses must be between 1 and " + MAX_USES);
        }
        if (ttl.isNegative() || ttl.isZero() || ttl.compareTo(MAX_TTL) > 0) {
            throw new IllegalArgumentException("ttl must be between 1 second and " + MAX_TTL.toDays() + " days");
        }
        JoinToken token = JoinToken.generate();
        Instant now = clock.instant();
        Entry e = new Entry(
                token.id(),
                HexFormat.of().formatHex(token.secretHash()),
                List.copyOf(validTags),
                name,
                uses,
                uses,
                now.getEpochSecond(),
                now.plus(ttl).getEpochSecond(),
                false,
                namePrefix);
        try {
            transact(entries -> {
                entries.add(e);
                return null;
            });
        } catch (InvalidTokenException impossible) {
            throw new IllegalStateException(impossible);
        }
        log.info(
                "created join token {} tags={} uses={} name={} name-prefix={} expires={}",
                e.id(),
                validTags,
                uses,
                name,
                namePrefix,
                e.info().expiresAt());
        return new CreatedToken(token, e.info());
    }

    /**
     * Checks the token and uses it up once, atomically.
     *
     * @throws InvalidTokenException with the same message for every cause; the reason is internal
     */
    public TokenGrant consume(String tokenText) throws InvalidTokenException, IOException {
        return consume(tokenText, grant -> {});
    }

    /**
     * Checks the token, runs {@code check} on what it grants and uses the token up once, all in one
     * transaction: when {@code check} throws, the token keeps its use.
     *
     * @throws InvalidTokenException with the same message for every cause; the reason is internal
     */
    @SuppressWarnings("unchecked")
    public <X extends Exception> TokenGrant consume(String tokenText, GrantCheck<X> check)
            throws InvalidTokenException, IOException, X {
        try {
            return consumeChecked(tokenText, check);
        } catch (CheckFailed e) {
            throw (X) e.getCause();
        }
    }

    private <X extends Exception> TokenGrant consumeChecked(String tokenText, GrantCheck<X> check)
            throws InvalidTokenException, IOException {
        JoinToken token = JoinToken.parse(tokenText);
        long now = clock.instant().getEpochSecond();
        try {
            TokenGrant grant = transact(entries -> {
                for (int i = 0; i < entries.size(); i++) {
                    Entry e = entries.get(i);
                    if (!e.id().equals(token.id())) {
                        continue;
                    }
                    byte[] stored;
                    try {
                        stored = HexFormat.of().parseHex(e.secretHash());
                    } catch (IllegalArgumentException bad) {
                        stored = new byte[0];
                    }
                    if (!token.matches(stored)) {
                        throw new InvalidTokenException(InvalidTokenException.Reason.BAD_SECRET);
                    }
                    if (e.revoked()) {
                        throw new InvalidTokenException(InvalidTokenException.Reason.REVOKED);
                    }
                    if (now >= e.expiresAt()) {
                        throw new InvalidTokenException(InvalidTokenException.Reason.EXPIRED);
                    }
                    if (e.usesLeft() <= 0) {
                        throw new InvalidTokenException(InvalidTokenException.Reason.USED_UP);
                    }
                    TokenGrant granted = new TokenGrant(e.id(), Set.copyOf(e.tags()), e.name(), e.namePrefix());
                    try {
                        check.check(granted);
                    } catch (RuntimeException unchecked) {
                        throw unchecked;
                    } catch (Exception refused) {
                        throw new CheckFailed(refused);
                    }
                    entries.set(i, e.withUsesLeft(e.usesLeft() - 1));
                    return granted;
                }
                throw new InvalidTokenException(InvalidTokenException.Reason.UNKNOWN);
            });
            log.info("join token {} used", grant.id());
            return grant;
        } catch (InvalidTokenException e) {
            log.info("join token refused: {} (token id {})", e.reason(), token.id());
            throw e;
        }
    }

    /** Revokes a token by id; false when there is none. */
    public boolean revoke(String id) throws IOException {
        try {
            boolean found = transact(entries -> {
                for (int i = 0; i < entries.size(); i++) {
                    if (entries.get(i).id().equals(id)) {
                        entries.set(i, entries.get(i).revoke());
                        return true;
                    }
                }
                return false;
            });
            if (found) {
                log.info("revoked join token {}", id);
            }
            return found;
        } catch (InvalidTokenException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    /** All tokens, without secrets. */
    public List<TokenInfo> list() throws IOException {
        try {
            return transact(entries -> entries.stream().map(Entry::info).toList());
        } catch (InvalidTokenException impossible) {
            throw new IllegalStateException(impossible);
        }
    }

    private <T> T transact(Transaction<T> tx) throws IOException, InvalidTokenException {
        return lock.withLock(() -> {
            List<Entry> entries = read();
            List<Entry> before = List.copyOf(entries);
            T result;
            try {
                result = tx.apply(entries);
            } catch (InvalidTokenException e) {
                prune(entries);
                if (!entries.equals(before)) {
                    write(entries);
                }
                throw e;
            }
            prune(entries);
            if (!entries.equals(before)) {
                write(entries);
            }
            return result;
        });
    }

    private void prune(List<Entry> entries) {
        long cutoff = clock.instant().minus(KEEP_AFTER_END).getEpochSecond();
        entries.removeIf(e -> e.expiresAt() < cutoff);
    }

    private List<Entry> read() throws IOException {
        if (!Files.exists(file)) {
            return new ArrayList<>();
        }
        SecureFiles.requireOwnerOnly(file);
        if (Files.size(file) > MAX_FILE_BYTES) {
            throw new IOException(file + " is larger than " + MAX_FILE_BYTES + " bytes");
        }
        StoreFile sf;
        try {
            sf = JSON.readValue(Files.readAllBytes(file), StoreFile.class);
        } catch (IOException e) {
            throw new IOException(
                    file + ": cannot parse the token store (" + e.getClass().getSimpleName() + ")");
        }
        if (sf.version() != 1) {
            throw new IOException(file + ": unsupported token store version " + sf.version());
        }
        return new ArrayList<>(sf.tokens() == null ? List.of() : sf.tokens());
    }

    private void write(List<Entry> entries) throws IOException {
        SecureFiles.writeAtomically(file, JSON.writeValueAsBytes(new StoreFile(1, entries)), SecureFiles.SECRET_PERMS);
    }

    public Path dir() {
        return dir;
    }
}
