package dev.burrow.cli.agent;

import dev.burrow.cli.common.ProgramName;
import dev.burrow.identity.SecureFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One agent per state directory. Two agents on one directory share a node key, so the relay keeps
 * replacing one's connection with the other's (both reconnect every second or two), and the one that
 * exits deletes the other's API token. The agent therefore holds an exclusive lock on
 * {@value #FILE_NAME} in its state directory for as long as it runs, with its PID written in the file
 * so that a second agent can say who holds it. The operating system releases the lock when the
 * process dies, even by SIGKILL, so a stale file never blocks a restart; the file itself stays.
 */
public final class StateDirLock implements AutoCloseable {
    /** The lock file's name in the state directory. */
    public static final String FILE_NAME = "agent.lock";
    /** Longest PID text read back from a lock file (a PID has at most 19 digits; the file is ours but may be damaged). */
    private static final int MAX_PID_TEXT = 32;

    private final FileChannel channel;
    private final FileLock lock;

    private StateDirLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Thrown when another process (or this one) already runs an agent on the directory. */
    public static final class HeldException extends IllegalStateException {
        HeldException(String message) {
            super(message);
        }
    }

    /**
     * Takes the lock or fails at once (no waiting).
     *
     * @throws HeldException naming the holder's PID and what to do
     * @throws IOException when the directory or file cannot be created or locked
     */
    public static StateDirLock acquire(Path stateDir) throws IOException {
        SecureFiles.ensurePrivateDir(stateDir);
        Path file = stateDir.resolve(FILE_NAME);
        FileChannel ch =
                FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null; // this JVM holds it already (an in-process test, or a second agent in the same process)
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(ch);
            ch.close();
            throw new HeldException("another agent" + (holder.isEmpty() ? "" : " (PID " + holder + ")")
                    + " already uses the state directory " + stateDir
                    + ": stop it, or run several services and forwards "
                    + "in one agent (" + ProgramName.command()
                    + " agent --config agent.yaml), or give this one its own directory with --state DIR");
        }
        try {
            ch.truncate(0);
            ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)), 0);
            ch.force(false);
        } catch (IOException e) {
            lock.release();
            ch.close();
            throw e;
        }
        return new StateDirLock(ch, lock);
    }

    private static String holder(FileChannel ch) {
        try {
            ByteBuffer b = ByteBuffer.allocate(MAX_PID_TEXT);
            ch.read(b, 0);
            String t = new String(b.array(), 0, b.position(), StandardCharsets.US_ASCII).strip();
            return t.matches("\\d{1,19}") ? t : "";
        } catch (IOException e) {
            return "";
        }
    }

    /** For tests: whether a lock file exists (the lock itself cannot be observed without taking it). */
    static boolean fileExists(Path stateDir) {
        return Files.exists(stateDir.resolve(FILE_NAME));
    }

    @Override
    public void close() {
        try {
            lock.release();
        } catch (IOException ignored) {
            // closing the channel releases it too
        }
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing left to do
        }
    }
}
