package dev.burrow.agent.portmap;

/** A decoded gateway answer, or why it was refused; decoders never throw on wire input. */
public sealed interface Decoded<T> {
    record Ok<T>(T value) implements Decoded<T> {}

    record Refused<T>(Refusal refusal, String reason) implements Decoded<T> {}

    static <T> Decoded<T> refused(Refusal refusal, String reason) {
        return new Refused<>(refusal, reason);
    }
}
