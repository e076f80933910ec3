package dev.burrow.identity;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Owner-only files for secrets: directories are 0700, secret files 0600, written atomically
 * (temporary file in the same directory, then rename) so a crash never leaves half a key.
 * On file systems without POSIX permissions the checks are skipped.
 */
public final class SecureFiles {
    public static final Set<PosixFilePermission> DIR_PERMS = PosixFilePermissions.fromString("rwx------");
    public static final Set<PosixFilePermission> SECRET_PERMS = PosixFilePermissions.fromString("rw-------");
    public static final Set<PosixFilePermission> PUBLIC_PERMS = PosixFilePermissions.fromString("rw-r--r--");

    private SecureFiles() {}

    /**
     * Creates {@code dir} (and missing parents) when missing. Every directory we create is 0700,
     * parents included ({@code ~/.burrow} for {@code ~/.burrow/relay-dev-tls}): a state directory is
     * created here and nowhere else. Existing directories are left as they are.
     */
    public static void ensurePrivateDir(Path dir) throws IOException {
        if (Files.isDirectory(dir)) {
            return;
        }
        Path parent = dir.toAbsolutePath().normalize().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            ensurePrivateDir(parent);
        }
        try {
            if (posix(dir.toAbsolutePath().getParent())) {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_PERMS));
                Files.setPosixFilePermissions(dir, DIR_PERMS); // umask may have removed bits; never added any
            } else {
                Files.createDirectory(dir);
            }
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) {
                throw e;
            }
        }
    }

    /**
     * A new hidden temporary file beside {@code target} holding {@code data} (synced) with
     * {@code perms}; created 0600 so that a secret is never readable in between.
     */
    private static Path writeTemp(Path target, byte[] data, Set<PosixFilePermission> perms) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = posix(dir)
                ? Files.createTempFile(
                        dir,
                        "." + target.getFileName() + ".",
                        ".tmp",
                        PosixFilePermissions.asFileAttribute(SECRET_PERMS))
                : Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        try {
            Files.write(tmp, data, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.SYNC);
            if (posix(dir)) {
                Files.setPosixFilePermissions(tmp, perms);
            }
            return tmp;
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
    }

    /** Writes {@code data} to {@code target} atomically with the given permissions. */
    public static void writeAtomically(Path target, byte[] data, Set<PosixFilePermission> perms) throws IOException {
        Path tmp = writeTemp(target, data, perms);
        try {
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Creates {@code target} with {@code data} only when it does not exist yet, atomically (the
     * complete file appears under its name at once, via a hard link), so two processes creating the
     * same key at the same moment cannot overwrite each other.
     *
     * @throws FileAlreadyExistsException when another process created it first
     */
    public static void createAtomically(Path target, byte[] data, Set<PosixFilePermission> perms) throws IOException {
        Path tmp = writeTemp(target, data, perms);
        try {
            try {
                Files.createLink(target, tmp);
            } catch (UnsupportedOperationException e) {
                if (Files.exists(target)) {
                    throw new FileAlreadyExistsException(target.toString());
                }
                Files.move(tmp, target);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Refuses a secret file that group or others can read or write, like ssh does with private keys.
     *
     * @throws InsecureFileException with the path and how to fix it
     */
    public static void requireOwnerOnly(Path file) throws IOException {
        if (!posix(file)) {
            return;
        }
        // Follow links: a link's own mode means nothing, the file it points to is what others could read.
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        for (PosixFilePermission p : perms) {
            if (!SECRET_PERMS.contains(p) && p != PosixFilePermission.OWNER_EXECUTE) {
                throw new InsecureFileException(file + " is accessible by other users (permissions "
                        + PosixFilePermissions.toString(perms) + "); refusing to use it. Fix with: chmod 600 " + file);
            }
        }
    }

    /** True when group or others have any access to {@code file} (false where POSIX modes do not exist). */
    public static boolean accessibleByOthers(Path file) throws IOException {
        if (!posix(file)) {
            return false;
        }
        for (PosixFilePermission p : Files.getPosixFilePermissions(file)) {
            if (!SECRET_PERMS.contains(p) && p != PosixFilePermission.OWNER_EXECUTE) {
                return true;
            }
        }
        return false;
    }

    static boolean posix(Path p) {
        Path existing = p.toAbsolutePath();
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        return existing != null && Files.getFileAttributeView(existing, PosixFileAttributeView.class) != null;
    }

    /** A secret file has permissions that let other users read it. */
    public static final class InsecureFileException extends IOException {
        public InsecureFileException(String message) {
            super(message);
        }
    }
}
