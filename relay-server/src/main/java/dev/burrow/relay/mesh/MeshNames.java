package dev.burrow.relay.mesh;

import dev.burrow.identity.NodeKey;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Certified node names that sibling relays announced (NAMES frames), for LOOKUP_NAME across the mesh.
 *
 * <p>An entry is (link, key) → name: the sibling behind {@code link} verified that its client
 * {@code key} holds a CA-issued certificate with that name. At most one name per key per link, and
 * {@link MeshManager} only stores names for keys the link announced, so a link holds at most as many
 * names as routes ({@link MeshLink#MAX_NAMES_PER_LINK}). Entries go with their key's route (GONE,
 * link down). Thread-safe: links update it on their event loops, lookups come from clients' loops;
 * every operation is short.
 */
final class MeshNames {
    // Guarded by this.
    private final Map<MeshLink, Map<NodeKey, String>> byLink = new HashMap<>();
    /** Name → key → how many links announce that key with that name (a key may be on two siblings while it moves). */
    private final Map<String, LinkedHashMap<NodeKey, Integer>> byName = new HashMap<>();

    /** Sets (or, with an empty name, clears) the name {@code link} announced for {@code key}. */
    synchronized void put(MeshLink link, NodeKey key, String name) {
        Map<NodeKey, String> mine = byLink.get(link);
        String old = mine == null ? null : mine.get(key);
        if (name.equals(old)) {
            return;
        }
        if (old != null) {
            unindex(old, key);
            mine.remove(key);
        }
        if (name.isEmpty()) {
            if (mine != null && mine.isEmpty()) {
                byLink.remove(link);
            }
            return;
        }
        byLink.computeIfAbsent(link, l -> new HashMap<>()).put(key, name);
        byName.computeIfAbsent(name, n -> new LinkedHashMap<>()).merge(key, 1, Integer::sum);
    }

    /** Drops the name {@code link} announced for {@code key} (its route went). */
    synchronized void remove(MeshLink link, NodeKey key) {
        put(link, key, "");
    }

    /** Drops every name learned over {@code link} (it broke). */
    synchronized void removeLink(MeshLink link) {
        Map<NodeKey, String> mine = byLink.remove(link);
        if (mine != null) {
            mine.forEach((key, name) -> unindex(name, key));
        }
    }

    /** Whether {@code link} announced a name for {@code key}. */
    synchronized boolean has(MeshLink link, NodeKey key) {
        Map<NodeKey, String> mine = byLink.get(link);
        return mine != null && mine.containsKey(key);
    }

    /** Names held for {@code link}. */
    synchronized int count(MeshLink link) {
        Map<NodeKey, String> mine = byLink.get(link);
        return mine == null ? 0 : mine.size();
    }

    /** Keys announced with {@code name}, distinct, at most {@code max}. */
    synchronized List<NodeKey> lookup(String name, int max) {
        LinkedHashMap<NodeKey, Integer> keys = byName.get(name);
        if (keys == null) {
            return List.of();
        }
        List<NodeKey> out = new ArrayList<>(Math.min(keys.size(), max));
        for (NodeKey k : keys.keySet()) {
            if (out.size() == max) {
                break;
            }
            out.add(k);
        }
        return List.copyOf(out);
    }

    /** Distinct names known through the mesh. */
    synchronized int names() {
        return byName.size();
    }

    private void unindex(String name, NodeKey key) {
        LinkedHashMap<NodeKey, Integer> keys = byName.get(name);
        if (keys == null) {
            return;
        }
        keys.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
        if (keys.isEmpty()) {
            byName.remove(name);
        }
    }
}
