package dev.burrow.identity;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One lock for a small state file shared by threads and processes (the CA directory's token store
 * and name record): the in-process lock for the lock file, then an exclusive {@link FileLock} on it
 * (other processes). The body reads, changes and writes its file with
 * {@link SecureFiles#writeAtomically}, so readers that do not lock see the old or the new file,
 * never half of one.
 */
public final class LockedFile {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS_LOCKS = new ConcurrentHashMap<>();

    /** What runs under the lock. */
    public interface Body<T, E extends Exception> {
        T run() throws IOException, E;
    }

    private final Path lockFile;
    private final ReentrantLock inProcess;

    public LockedFile(Path lockFile) {
        this.lockFile = lockFile;
        this.inProcess =
                IN_PROCESS_LOCKS.computeIfAbsent(lockFile.toAbsolutePath().normalize(), p -> new ReentrantLock());
    }

    /** Runs {@code body} holding both locks; a thread must not nest two bodies on the same lock file. */
    public <T, E extends Exception> T withLock(Body<T, E> body) throws IOException, E {
        inProcess.lock();
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock ignored = ch.lock()) {
            return body.run();
        } finally {
            inProcess.unlock();
        }
    }
}
