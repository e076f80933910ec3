package dev.burrow.relay.mesh;

import dev.burrow.relay.server.metrics.RelayMetrics;
import dev.burrow.relay.server.metrics.RelayMetrics.MeshEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mesh key and its rotation: the key file is read again when it changed (a Kubernetes Secret
 * update swaps the file in place), so a rotation needs no restart, and every link whose sibling proved
 * a key the file no longer holds is closed (outbound links are redialled with the current key; the
 * sibling redials inbound ones).
 */
final class MeshKeyring {
    private static final Logger log = LoggerFactory.getLogger(MeshKeyring.class);
    /** The key file is looked at again at most this often (it is read on handshakes, which may come in bursts). */
    static final long KEY_CHECK_NANOS = TimeUnit.SECONDS.toNanos(1);

    // Final after construction.
    private final Path keyFile;
    private final RelayMetrics metrics;
    /** Called with the new key after a reload, to cut links that proved a key no longer accepted. */
    private final Consumer<MeshKey> reloaded;

    private final AtomicLong reloads = new AtomicLong();

    // Guarded by lock (written under it; read without it through the volatiles).
    private final Object lock = new Object();
    private volatile MeshKey key;
    /** Last modification time and size of the key file the current key came from (or failed from). */
    private volatile long stamp;

    private volatile long checkedNanos;

    MeshKeyring(MeshKey key, Path keyFile, RelayMetrics metrics, Consumer<MeshKey> reloaded) {
        this.key = key;
        this.keyFile = keyFile;
        this.metrics = metrics;
        this.reloaded = reloaded;
        this.stamp = stamp(keyFile);
        this.checkedNanos = System.nanoTime();
    }

    /**
     * The mesh key, read again when its file changed. A file that became unusable keeps the previous
     * key (logged at ERROR).
     */
    MeshKey key() {
        long now = System.nanoTime();
        if (now - checkedNanos >= KEY_CHECK_NANOS) {
            MeshKey fresh = null;
            synchronized (lock) {
                if (now - checkedNanos >= KEY_CHECK_NANOS) {
                    checkedNanos = now;
                    long s = stamp(keyFile);
                    if (s != stamp) {
                        stamp = s;
                        try {
                            fresh = MeshKey.read(keyFile);
                            key = fresh;
                            log.atInfo()
                                    .addKeyValue("event", "mesh_key_reloaded")
                                    .addKeyValue("file", keyFile)
                                    .log("mesh key reloaded");
                        } catch (MeshKey.MeshKeyException e) {
                            log.atError()
                                    .addKeyValue("event", "mesh_key_reload_failed")
                                    .log("{}; keeping the previous key", e.getMessage());
                        }
                    }
                }
            }
            if (fresh != null) {
                reloaded.accept(fresh);
                reloads.incrementAndGet();
            }
        }
        return key;
    }

    /** Successful reloads of the key file since start. */
    long reloads() {
        return reloads.get();
    }

    /**
     * A reloaded key file may have dropped a key (the last step of a rotation, or a leaked key
     * removed): every link whose sibling proved a key that is no longer accepted is closed. Links whose
     * key is still accepted stay up.
     */
    void cutLinksNoLongerAccepted(Collection<MeshLink> links, MeshKey current) {
        for (MeshLink l : links) {
            cutIfRevoked(l, current);
        }
    }

    /**
     * A handshake that verified with the previous key may finish just after a reload: a new link is
     * checked against the current key after it joined the link sets, so either this check or the
     * reload's sweep sees it.
     */
    void cutIfRevoked(MeshLink l) {
        cutIfRevoked(l, key);
    }

    private void cutIfRevoked(MeshLink l, MeshKey current) {
        if (l.provenKey != null && !current.stillAccepts(l.provenKey) && l.channel.isOpen()) {
            metrics.meshEvent(MeshEvent.KEY_REVOKED);
            log.atWarn()
                    .addKeyValue("event", "mesh_link_key_revoked")
                    .addKeyValue("direction", l.outbound ? "outbound" : "inbound")
                    .addKeyValue("peer_relay", l.peerRelayId)
                    .log(
                            "the sibling proved a key the key file no longer holds; closing the link (it is redialled with the current key)");
            l.channel.close();
        }
    }

    private static long stamp(Path file) {
        try {
            return Files.getLastModifiedTime(file).toMillis() * 31 + Files.size(file);
        } catch (IOException e) {
            return -1;
        }
    }
}
