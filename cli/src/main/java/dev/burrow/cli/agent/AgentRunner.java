package dev.burrow.cli.agent;

import dev.burrow.agent.Agent;
import dev.burrow.agent.AgentConfig;
import dev.burrow.agent.api.ControlApiServer;
import dev.burrow.agent.enrol.RelayEnroller;
import dev.burrow.agent.ops.OpsEndpoints;
import dev.burrow.cli.common.CommandFailedException;
import dev.burrow.cli.common.UsageException;
import dev.burrow.identity.NodeIdentity;
import dev.burrow.identity.enrol.EnrolmentResponse;
import dev.burrow.transport.Transport;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/** Starts an agent with its local control API and keeps it running until the process is stopped. */
final class AgentRunner {
    private AgentRunner() {}

    /** A running agent and its API; {@link #close()} stops both. */
    record Running(Agent agent, ControlApiServer api, StateDirLock lock, CompletableFuture<String> fatal, AgentOps ops)
            implements AutoCloseable {
        @Override
        public void close() {
            api.close();
            ops.close();
            agent.close();
            lock.close();
        }
    }

    static Running start(AgentConfig config, Path stateDir, Transport transport, OpsEndpoints ops) throws IOException {
        return start(config, stateDir, transport, null, null, null, ops);
    }

    /**
     * Starts the agent; with a join token, first trades it at the relay for a CA-issued certificate
     * (once: a node that already holds one keeps it, so the same command line can be used on every
     * restart while the single-use token is spent only the first time).
     */
    static Running start(
            AgentConfig config,
            Path stateDir,
            Transport transport,
            String joinToken,
            String name,
            PrintWriter out,
            OpsEndpoints ops)
            throws IOException {
        StateDirLock lock = StateDirLock.acquire(stateDir); // before anything in the directory is read or written
        try {
            return start(config, stateDir, transport, joinToken, name, out, lock, AgentOps.prepare(ops));
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    private static Running start(
            AgentConfig config,
            Path stateDir,
            Transport transport,
            String joinToken,
            String name,
            PrintWriter out,
            StateDirLock lock,
            AgentOps ops)
            throws IOException {
        NodeIdentity identity = NodeIdentity.loadOrCreate(stateDir);
        if (joinToken != null) {
            if (identity.certificate().selfSigned()) {
                EnrolmentResponse issued = enrol(config, identity, joinToken, name);
                if (out != null) {
                    out.println("enrolled as '" + issued.name() + "' with tags " + issued.tags()
                            + ", certificate valid until " + issued.notAfter());
                }
            } else if (out != null) {
                out.println("already enrolled (certificate issued by "
                        + identity.certificate().issuerName() + "); --join ignored");
            }
        }
        Agent agent;
        FirstAttemptTrustWatch trust;
        try {
            trust = new FirstAttemptTrustWatch(config.relay());
            agent = Agent.start(config, identity, transport, ops.recorder(), trust);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        try {
            ops.start(agent, stateDir);
        } catch (IOException | RuntimeException e) {
            agent.close();
            throw e;
        }
        try {
            return new Running(agent, ControlApiServer.start(agent, stateDir, 0), lock, trust.fatal(), ops);
        } catch (IOException | RuntimeException e) {
            ops.close();
            agent.close();
            throw e;
        }
    }

    /**
     * Trades the join token at the first relay that answers (with several relays, one that is down
     * does not stop the agent from joining; the token is single-use, so a relay that refused it is not
     * asked again with the same token unless it could not be reached at all).
     */
    private static EnrolmentResponse enrol(AgentConfig config, NodeIdentity identity, String joinToken, String name)
            throws IOException {
        IOException last = null;
        for (var candidate : config.relay().candidates()) {
            try {
                return RelayEnroller.enrol(
                        candidate.url(),
                        Agent.relayTrust(config.relay()).sslContext(),
                        identity,
                        joinToken,
                        name,
                        RelayEnroller.DEFAULT_TIMEOUT);
            } catch (ConnectException | UnknownHostException e) {
                last = e; // not reached: the token was not spent there
            }
        }
        throw last != null ? last : new IOException("no relay to enrol at");
    }

    /**
     * Blocks until SIGINT/SIGTERM; closes {@code resources} on the way out. When a running agent among
     * them fails for good (a trust failure on its first attempt), closes them and throws with the line
     * to print (exit 1).
     */
    static int runUntilStopped(PrintWriter out, AutoCloseable... resources) {
        CompletableFuture<String> fatal = new CompletableFuture<>();
        for (AutoCloseable r : resources) {
            if (r instanceof Running running) {
                running.fatal().thenAccept(fatal::complete);
            }
        }
        CompletableFuture<Void> stopped = new CompletableFuture<>();
        Thread hook = new Thread(
                () -> {
                    closeAll(resources);
                    stopped.complete(null);
                },
                "burrow-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out.flush();
        CompletableFuture.anyOf(stopped, fatal).join();
        if (fatal.isDone() && !stopped.isDone()) {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook closes them
            }
            closeAll(resources);
            throw new AgentFailedException(fatal.join());
        }
        return 0;
    }

    private static void closeAll(AutoCloseable... resources) {
        for (AutoCloseable r : resources) {
            try {
                r.close();
            } catch (Exception ignored) {
                // shutting down anyway
            }
        }
    }

    /** The agent cannot work as configured (exit 1 with this one line). */
    static final class AgentFailedException extends CommandFailedException {
        AgentFailedException(String message) {
            super(message, null);
        }
    }
}
