package dev.burrow.agent.stream;

/** Told when a splice ends, with the byte counts (for status and metrics). */
@FunctionalInterface
public interface SpliceListener {
    /**
     * @param bytesAtoB bytes copied from end A to end B
     * @param bytesBtoA bytes copied from end B to end A
     * @param outcome how it ended
     */
    void ended(long bytesAtoB, long bytesBtoA, SpliceOutcome outcome);

    SpliceListener NONE = (a, b, o) -> {};
}
