package dev.burrow.stun.codec;

import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A key and algorithm to add MESSAGE-INTEGRITY with. For short-term credentials the key is the
 * password's UTF-8 bytes (RFC 8489 §9.1.1; we do not apply OpaqueString, so passwords should be
 * ASCII). The key is never printed.
 */
public final class Integrity {
    private final IntegrityAlgorithm algorithm;
    private final byte[] key;

    public Integrity(IntegrityAlgorithm algorithm, byte[] key) {
        this.algorithm = Objects.requireNonNull(algorithm, "algorithm");
        if (key.length == 0) {
            throw new IllegalArgumentException("empty MESSAGE-INTEGRITY key");
        }
        this.key = key.clone();
    }

    public static Integrity shortTerm(IntegrityAlgorithm algorithm, String password) {
        return new Integrity(algorithm, password.getBytes(StandardCharsets.UTF_8));
    }

    public IntegrityAlgorithm algorithm() {
        return algorithm;
    }

    byte[] key() {
        return key;
    }

    public Integrity withAlgorithm(IntegrityAlgorithm other) {
        return new Integrity(other, key);
    }

    @Override
    public String toString() {
        return "Integrity[" + algorithm + ", key=<redacted>]";
    }
}
