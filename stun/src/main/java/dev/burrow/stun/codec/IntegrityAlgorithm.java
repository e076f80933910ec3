package dev.burrow.stun.codec;

/** The two MESSAGE-INTEGRITY flavours of RFC 8489 §14.5 and §14.6. */
public enum IntegrityAlgorithm {
    HMAC_SHA1("HmacSHA1", StunAttributeType.MESSAGE_INTEGRITY, 20),
    HMAC_SHA256("HmacSHA256", StunAttributeType.MESSAGE_INTEGRITY_SHA256, 32);

    private final String jcaName;
    private final int attributeType;
    private final int macLength;

    IntegrityAlgorithm(String jcaName, int attributeType, int macLength) {
        this.jcaName = jcaName;
        this.attributeType = attributeType;
        this.macLength = macLength;
    }

    public String jcaName() {
        return jcaName;
    }

    public int attributeType() {
        return attributeType;
    }

    /** Bytes of the full MAC, as we send it. */
    public int macLength() {
        return macLength;
    }
}
