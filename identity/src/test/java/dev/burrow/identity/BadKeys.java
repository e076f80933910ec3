package dev.burrow.identity;

import java.util.HexFormat;
import java.util.List;

/** Ed25519 public key encodings that must be refused (bad keys). */
final class BadKeys {
    private BadKeys() {}

    static byte[] hex(String h) {
        return HexFormat.of().parseHex(h);
    }

    /** All zero (y = 0: a point of order 4). */
    static final byte[] ZERO = new byte[32];
    /** The identity point (0, 1): order 1. */
    static final byte[] IDENTITY = hex("0100000000000000000000000000000000000000000000000000000000000000");
    /** (0, -1): order 2. */
    static final byte[] ORDER_2 = hex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    /** Points of order 8. */
    static final byte[] ORDER_8_A = hex("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05");

    static final byte[] ORDER_8_B = hex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
    /** Non-canonical: y = p (encodes 0 with y out of range). */
    static final byte[] NON_CANONICAL_P = hex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    /** Non-canonical: y = p + 1 (the identity, encoded out of range). */
    static final byte[] NON_CANONICAL_P1 = hex("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");

    static List<byte[]> all() {
        return List.of(ZERO, IDENTITY, ORDER_2, ORDER_8_A, ORDER_8_B, NON_CANONICAL_P, NON_CANONICAL_P1);
    }
}
