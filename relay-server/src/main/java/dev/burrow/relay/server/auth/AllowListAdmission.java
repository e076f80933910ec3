package dev.burrow.relay.server.auth;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.VerifiedPeer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * Admits the node IDs on a list. The list comes from any of a flag (repeatable or comma
 * separated), an environment variable (comma or white space separated) and a file (one node ID a
 * line, {@code #} comments; e.g. a Kubernetes Secret mount). A source that is set but unreadable,
 * empty or holds a malformed node ID fails start-up with a clear error (auth on every configuration path): a relay never runs
 * with an allow list it could not read.
 */
public final class AllowListAdmission implements Admission {
    /** Refuse allow-list files over this size. */
    public static final long MAX_FILE_BYTES = 4L * 1024 * 1024;

    private final Set<NodeKey> allowed;

    public AllowListAdmission(Set<NodeKey> allowed) {
        if (allowed.isEmpty()) {
            throw new IllegalArgumentException("the allow list is empty: no node could connect");
        }
        this.allowed = Set.copyOf(allowed);
    }

    /**
     * Builds the list from its sources; null means "not set".
     *
     * @throws IllegalArgumentException naming the source that is unreadable, empty or malformed
     */
    public static AllowListAdmission fromSources(
            List<String> flagValues, String envName, String envValue, Path fileOrNull) {
        Set<NodeKey> keys = new HashSet<>();
        boolean anySet = false;
        if (flagValues != null && !flagValues.isEmpty()) {
            anySet = true;
            int before = keys.size();
            for (String v : flagValues) {
                parseInto(keys, v, "--allow-node");
            }
            if (keys.size() == before) {
                throw new IllegalArgumentException("--allow-node is set but empty");
            }
        }
        if (envValue != null) {
            anySet = true;
            int before = keys.size();
            parseInto(keys, envValue, "environment variable " + envName);
            if (keys.size() == before) {
                throw new IllegalArgumentException("environment variable " + envName + " is set but empty");
            }
        }
        if (fileOrNull != null) {
            anySet = true;
            List<String> lines;
            try {
                if (Files.size(fileOrNull) > MAX_FILE_BYTES) {
                    throw new IllegalArgumentException(
                            "allow-list file " + fileOrNull + " is larger than " + MAX_FILE_BYTES + " bytes");
                }
                lines = Files.readAllLines(fileOrNull, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read allow-list file " + fileOrNull + ": " + e.getMessage());
            }
            int before = keys.size();
            int n = 0;
            for (String line : lines) {
                n++;
                int hash = line.indexOf('#');
                parseInto(keys, hash >= 0 ? line.substring(0, hash) : line, fileOrNull + ":" + n);
            }
            if (keys.size() == before) {
                throw new IllegalArgumentException("allow-list file " + fileOrNull + " has no node IDs");
            }
        }
        if (!anySet) {
            throw new IllegalArgumentException(
                    "allow-list admission needs --allow-node, an environment variable or a file");
        }
        return new AllowListAdmission(keys);
    }

    private static void parseInto(Set<NodeKey> keys, String text, String where) {
        for (String token : text.split("[,\\s]+")) {
            if (token.isBlank()) {
                continue;
            }
            try {
                keys.add(NodeKey.parse(token));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage());
            }
        }
    }

    public Set<NodeKey> allowed() {
        return allowed;
    }

    @Override
    public CompletableFuture<Decision> decide(NodeKey nodeKey, VerifiedPeer peerOrNull) {
        return CompletableFuture.completedFuture(
                allowed.contains(nodeKey)
                        ? Decision.allow("on the allow list")
                        : Decision.deny("not on the allow list"));
    }

    @Override
    public String describe() {
        return "allow list (" + allowed.size() + " node(s))";
    }
}
