package dev.burrow.agent.stream;

/** Which side of a stream this agent is: it accepted the stream (inbound) or dialled it (outbound). */
public enum Direction {
    INBOUND,
    OUTBOUND
}
