package dev.burrow.relay.server.forward;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.FrameLimits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Connected clients by the name in their CA-issued certificate, for LOOKUP_NAME. Only sessions whose
 * name the relay verified ({@link ClientSession#certifiedName()}, set from
 * {@code VerifiedPeer.caIssued()}) are ever added, so a name a peer merely claims in a self-signed
 * certificate never resolves.
 *
 * <p>Bounded: every connected session is in at most one entry, so the index never holds more than
 * the relay's client limit; entries go when their last session goes. Sessions are kept by identity,
 * so a replaced connection with the same key is removed on its own without touching its successor.
 * Thread-safe (register and unregister run on different event loops); every operation is short.
 */
final class NameIndex {
    private final Map<String, Set<ClientSession>> byName = new HashMap<>();

    synchronized void add(ClientSession session) {
        String name = session.certifiedName();
        if (name != null) {
            byName.computeIfAbsent(name, n -> new LinkedHashSet<>()).add(session);
        }
    }

    synchronized void remove(ClientSession session) {
        String name = session.certifiedName();
        if (name == null) {
            return;
        }
        Set<ClientSession> sessions = byName.get(name);
        if (sessions != null && sessions.remove(session) && sessions.isEmpty()) {
            byName.remove(name);
        }
    }

    /** Keys of open sessions with this name, distinct, at most {@link FrameLimits#MAX_NAME_RESULT_KEYS}. */
    synchronized List<NodeKey> lookup(String name) {
        Set<ClientSession> sessions = byName.get(name);
        if (sessions == null) {
            return List.of();
        }
        List<NodeKey> keys = new ArrayList<>(Math.min(sessions.size(), FrameLimits.MAX_NAME_RESULT_KEYS));
        for (ClientSession s : sessions) {
            if (keys.size() == FrameLimits.MAX_NAME_RESULT_KEYS) {
                break;
            }
            if (!s.isClosed() && !keys.contains(s.key())) {
                keys.add(s.key());
            }
        }
        return List.copyOf(keys);
    }

    synchronized int names() {
        return byName.size();
    }
}
