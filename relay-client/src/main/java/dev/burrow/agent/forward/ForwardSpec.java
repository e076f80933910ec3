package dev.burrow.agent.forward;

import dev.burrow.agent.policy.TargetSpec;
import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.NodeNames;
import dev.burrow.protocol.frame.ServiceNames;
import java.util.Objects;

/**
 * One forward: every TCP connection to {@code bindHost:bindPort} is carried to {@code service} on
 * {@code peer}, or on the node named {@code peerName}.
 *
 * @param peer the peer's key; null when the forward is addressed by name
 * @param peerName a node name vouched for by a fleet CA, resolved through the relay for every new
 *     connection and checked in the peer's certificate end to end; null when addressed by key
 * @param peerLabel how the user wrote the peer (node ID, alias or name), for status
 */
public record ForwardSpec(
        String bindHost, int bindPort, NodeKey peer, String peerName, String peerLabel, String service) {
    /** Forwards listen on loopback unless told otherwise: a forward is a door into a peer's service. */
    public static final String DEFAULT_BIND_HOST = "127.0.0.1";

    public ForwardSpec {
        Objects.requireNonNull(bindHost, "bindHost");
        if (bindPort != 0) {
            TargetSpec.checkPort(bindPort);
        }
        if ((peer == null) == (peerName == null)) {
            throw new IllegalArgumentException("a forward names its peer by key or by name, not both");
        }
        if (peerName != null && !NodeNames.isValid(peerName)) {
            throw new IllegalArgumentException("invalid node name '" + peerName + "'");
        }
        ServiceNames.checkUsable(service);
        if (peerLabel == null || peerLabel.isBlank()) {
            peerLabel = peer != null ? peer.nodeId() : peerName;
        }
    }

    /** A forward to a peer by key. */
    public ForwardSpec(String bindHost, int bindPort, NodeKey peer, String peerLabel, String service) {
        this(bindHost, bindPort, Objects.requireNonNull(peer, "peer"), null, peerLabel, service);
    }

    /** A forward to the node named {@code peerName} (needs a fleet CA: the name is checked in the peer's certificate). */
    public static ForwardSpec byName(String bindHost, int bindPort, String peerName, String service) {
        return new ForwardSpec(
                bindHost, bindPort, null, Objects.requireNonNull(peerName, "peerName"), peerName, service);
    }

    public boolean byName() {
        return peerName != null;
    }

    /** Parses {@code PORT} or {@code HOST:PORT} / {@code [V6]:PORT} for the local side (port 0 picks a free one). */
    public static String[] parseBind(String text) {
        String t = text.strip();
        if (t.chars().allMatch(Character::isDigit) && !t.isEmpty()) {
            return new String[] {DEFAULT_BIND_HOST, String.valueOf(parseBindPort(t))};
        }
        TargetSpec s;
        if (t.endsWith(":0")) {
            TargetSpec probe = TargetSpec.parse(t.substring(0, t.length() - 1) + "1");
            return new String[] {probe.host(), "0"};
        }
        s = TargetSpec.parse(t);
        return new String[] {s.host(), String.valueOf(s.port())};
    }

    private static int parseBindPort(String t) {
        if (t.equals("0")) {
            return 0;
        }
        return TargetSpec.parsePort(t);
    }

    @Override
    public String toString() {
        return (bindHost.indexOf(':') >= 0 ? "[" + bindHost + "]" : bindHost) + ":" + bindPort + " -> " + peerLabel
                + "/" + service;
    }
}
