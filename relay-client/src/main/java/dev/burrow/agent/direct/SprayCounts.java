package dev.burrow.agent.direct;

import java.util.Map;

/**
 * What hard-NAT spraying did since start (status, metrics), from {@link DirectManager#sprayCounts()}.
 *
 * @param packets probe and ping packets sprays sent
 * @param sockets spray sockets opened (hard side)
 * @param outcomes per outcome: succeeded, failed, skipped_both_hard, skipped_busy
 */
public record SprayCounts(long packets, long sockets, Map<String, Long> outcomes) {}
