package dev.burrow.agent.direct;

import dev.burrow.agent.portmap.PortMap;

/**
 * One direct socket's gateway port mapping (status, metrics), from {@link DirectManager#portMappings()}.
 *
 * @param socket {@code server} or {@code client}
 * @param held the mapping held now, or null
 * @param status what port mapping last did (or that it is off)
 */
public record PortMappingView(String socket, PortMap held, String status) {}
