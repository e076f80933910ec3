package dev.burrow.agent.service;

import dev.burrow.agent.policy.ConnectionCaps;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The services this agent exposes. {@link #replaceAll} swaps the whole set at once (configuration
 * reload): new streams see the new rules; streams already admitted keep running. Caps live per
 * service name, so a reload that keeps a service keeps its counts.
 */
public final class ServiceRegistry {
    private volatile Map<String, ExposedService> services = Map.of();
    private final ConcurrentHashMap<String, ConnectionCaps> caps = new ConcurrentHashMap<>();

    public synchronized void replaceAll(Collection<ExposedService> list) {
        Map<String, ExposedService> m = new LinkedHashMap<>();
        for (ExposedService s : list) {
            if (m.put(s.name(), s) != null) {
                throw new IllegalArgumentException("service " + s.name() + " is exposed twice");
            }
        }
        for (ExposedService s : m.values()) {
            caps.compute(s.name(), (k, c) -> {
                if (c == null) {
                    return new ConnectionCaps(s.maxConnections(), s.maxPerPeer());
                }
                c.limits(s.maxConnections(), s.maxPerPeer());
                return c;
            });
        }
        services = Map.copyOf(m);
        caps.keySet().removeIf(name -> !m.containsKey(name) && caps.get(name).open() == 0);
    }

    public ExposedService get(String name) {
        return services.get(name);
    }

    public ConnectionCaps caps(String name) {
        return caps.get(name);
    }

    public List<ExposedService> all() {
        return List.copyOf(services.values());
    }

    public boolean isEmpty() {
        return services.isEmpty();
    }
}
