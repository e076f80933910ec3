package dev.burrow.agent;

import dev.burrow.agent.policy.TargetPolicy;
import dev.burrow.agent.relay.HomeRelaySelector;
import dev.burrow.agent.service.ExposedService;
import dev.burrow.identity.NodeVerifier;
import dev.burrow.identity.Pem;
import dev.burrow.transport.Transport;
import dev.burrow.transport.TransportKind;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The parts of an agent's start that depend only on its configuration and environment. */
final class AgentSetup {
    private static final Logger log = LoggerFactory.getLogger(Agent.class);

    private AgentSetup() {}

    /** Environment override of the relay measurement interval (tests, and operators who want other than a minute). */
    public static final String PROBE_INTERVAL_ENV = "BURROW_RELAY_PROBE_INTERVAL";

    static Duration probeInterval() {
        String v = System.getenv(PROBE_INTERVAL_ENV);
        if (v == null || v.isBlank()) {
            return HomeRelaySelector.DEFAULT_PROBE_INTERVAL;
        }
        Duration d = AgentConfig.parseDuration(v);
        if (d.isZero() || d.compareTo(Duration.ofSeconds(1)) < 0) {
            throw new IllegalArgumentException(PROBE_INTERVAL_ENV + ": at least 1s");
        }
        return d;
    }

    /**
     * The agent runs every socket with auto-read off and relies on half-close events; with this
     * Netty (4.2.18) only NIO carries that through our end-to-end tests, so the agent uses NIO
     * whatever was selected (the relay and STUN keep the native transports). What the native
     * transports did, last checked 2026-11-22 with {@code AgentE2eTest} and the agents forced
     * native:
     * <ul>
     *   <li>Both read a socket whose peer half-closed without being asked and fired the bytes and
     *       the end of input before the splice existed, so a request written and half-closed at
     *       once was lost. Fixed for every transport by {@link EarlyInput};
     *       the half-close and 200-connection tests then pass on both.</li>
     *   <li>epoll: a half-closed socket that still writes fails its next flush with
     *       {@code epoll_ctl(..) failed with error(-2): No such file or directory} (the write
     *       interest is added to an fd epoll no longer holds; consistent with Netty 4.2 removing
     *       an fd whose interest set became empty, netty/netty#16689: input shut down and no
     *       pending write). The 1 GiB both-ways test is reset.</li>
     *   <li>io_uring: the 1 GiB both-ways test stalls (no progress for 10 minutes) after the
     *       client half-closes.</li>
     * </ul>
     * Revisit with a Netty upgrade.
     */
    static Transport agentTransport(Transport requested) {
        if (requested.kind() == TransportKind.NIO) {
            return requested;
        }
        log.info(
                "transport: the agent uses nio rather than {} (half-close with auto-read off; see AgentSetup.agentTransport)",
                requested.kind().configName());
        return Transport.nio();
    }

    static NodeVerifier buildVerifier(AgentConfig config) throws IOException {
        NodeVerifier.Builder b = NodeVerifier.builder();
        for (Path p : config.fleetCas()) {
            try {
                b.trustCas(Pem.readCertificates(p));
            } catch (CertificateException e) {
                throw new IOException(p + ": " + e.getMessage(), e);
            }
        }
        return b.build();
    }

    /** The services an agent exposes, as its configuration describes them. */
    static List<ExposedService> services(AgentConfig c) {
        List<ExposedService> out = new ArrayList<>();
        for (AgentConfig.Expose e : c.exposes()) {
            out.add(new ExposedService(
                    e.name(),
                    TargetPolicy.of(e.target()),
                    e.allow(),
                    e.maxConnections(),
                    e.maxPerPeer(),
                    e.idleTimeout(),
                    e.proxyProtocol(),
                    e.publicIngress(),
                    e.protocol()));
        }
        return out;
    }
}
