package dev.burrow.identity.enrol;

/**
 * What a new node sends to enrol (JSON, see {@code docs/identity.md}).
 *
 * @param token the join token text ({@code bjt1...})
 * @param nodeId the node's ID (its Ed25519 public key)
 * @param proof base64 Ed25519 signature over {@link EnrolmentService#messageToSign}
 * @param name the name the node asks for, or null
 */
public record EnrolmentRequest(String token, String nodeId, String proof, String name) {
    /** Never shows the token. */
    @Override
    public String toString() {
        return "EnrolmentRequest[nodeId=" + nodeId + ", name=" + name + "]";
    }
}
