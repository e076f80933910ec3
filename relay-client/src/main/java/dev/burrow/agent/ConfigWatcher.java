package dev.burrow.agent;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hot reload: polls the configuration file and applies a changed, valid one with
 * {@link Agent#reload}. An invalid file is reported (log and status) and the running configuration
 * stays. Polling (not inotify) also sees Kubernetes ConfigMap updates, which swap a symlink.
 */
public final class ConfigWatcher implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ConfigWatcher.class);
    /** Edits show up within 2 s; a stat every 2 s costs nothing. */
    public static final Duration POLL_INTERVAL = Duration.ofSeconds(2);

    private final Path file;
    private final Agent agent;
    private final UnaryOperator<AgentConfig> adjust;
    private final ScheduledExecutorService timer;
    private String lastStamp;

    /**
     * @param adjust applied to every loaded configuration (command-line overrides such as --relay)
     */
    public ConfigWatcher(Path file, Agent agent, UnaryOperator<AgentConfig> adjust) {
        this.file = file;
        this.agent = agent;
        this.adjust = adjust;
        this.lastStamp = stamp();
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "burrow-config-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(
                this::check, POLL_INTERVAL.toMillis(), POLL_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private String stamp() {
        try {
            FileTime t = Files.getLastModifiedTime(file);
            return t.toMillis() + "/" + Files.size(file) + "/"
                    + Files.readString(file).hashCode();
        } catch (IOException e) {
            return "missing";
        }
    }

    void check() {
        String now = stamp();
        if (Objects.equals(now, lastStamp)) {
            return;
        }
        lastStamp = now;
        try {
            AgentConfig next = adjust.apply(AgentConfig.load(file));
            agent.reload(next);
        } catch (IOException | RuntimeException e) {
            String msg = e.getMessage() == null ? e.toString() : e.getMessage();
            agent.configError(msg);
            log.error("configuration not reloaded, the running one stays: {}", msg);
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
