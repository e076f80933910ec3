package dev.burrow.agent.policy;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.util.Locale;

/**
 * One entry of a service's allow list. Names and tags match only when a configured fleet CA issued
 * the peer's certificate ({@link VerifiedPeer#caIssued()}): a self-signed certificate can claim any
 * name, so its name is never trusted. A node ID matches the key the TLS handshake proved.
 */
public sealed interface AllowRule {

    boolean matches(VerifiedPeer peer);

    /** The rule in the form it is written ({@code node:<id>}, {@code name:<n>}, {@code tag:<t>}). */
    String text();

    /** Exactly this node. */
    record Node(NodeKey key) implements AllowRule {
        @Override
        public boolean matches(VerifiedPeer peer) {
            return key.equals(peer.nodeKey());
        }

        @Override
        public String text() {
            return "node:" + key.nodeId();
        }
    }

    /** The node whose CA-issued certificate carries this name. */
    record Name(String name) implements AllowRule {
        @Override
        public boolean matches(VerifiedPeer peer) {
            return peer.caIssued() && name.equals(peer.name());
        }

        @Override
        public String text() {
            return "name:" + name;
        }
    }

    /** Any node whose CA-issued certificate carries this tag. */
    record Tag(String tag) implements AllowRule {
        @Override
        public boolean matches(VerifiedPeer peer) {
            return peer.caIssued() && peer.tags().contains(tag);
        }

        @Override
        public String text() {
            return "tag:" + tag;
        }
    }

    /**
     * Parses {@code node:<id>}, {@code name:<name>}, {@code tag:<tag>} or a bare node ID.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    static AllowRule parse(String text) {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty allow rule: use node:<node-id>, name:<name> or tag:<tag>");
        }
        String t = text.strip();
        int colon = t.indexOf(':');
        if (colon < 0) {
            try {
                return new Node(NodeKey.parse(t)); // a bare node ID
            } catch (IllegalArgumentException e) {
                // 'bob' is far more likely a name than a broken node ID
                throw new IllegalArgumentException("allow rule '" + (t.length() > 64 ? t.substring(0, 64) + "..." : t)
                        + "' is neither node:<node-id>, name:<name> nor tag:<tag>"
                        + (checkableLabel(t) ? ": did you mean name:" + t + "?" : ""));
            }
        }
        String kind = t.substring(0, colon).toLowerCase(Locale.ROOT);
        String value = t.substring(colon + 1).strip();
        if (value.isEmpty()) {
            throw new IllegalArgumentException("allow rule '" + t + "' has no value");
        }
        return switch (kind) {
            case "node", "id" -> new Node(NodeKey.parse(value));
            case "name" -> new Name(checkLabel(value, "name"));
            case "tag" -> new Tag(checkLabel(value, "tag"));
            default ->
                throw new IllegalArgumentException(
                        "unknown allow rule '" + t + "': use node:<node-id>, name:<name> or tag:<tag>");
        };
    }

    private static boolean checkableLabel(String v) {
        return v.length() <= 63 && v.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ',');
    }

    private static String checkLabel(String v, String what) {
        if (v.length() > 253 || !v.chars().allMatch(c -> c > 0x20 && c < 0x7f && c != ',')) {
            throw new IllegalArgumentException("invalid " + what + " '" + v + "' in allow rule");
        }
        return v;
    }
}
