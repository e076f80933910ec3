package dev.burrow.identity.enrol;

import java.util.List;

/**
 * What the CA side answers to a successful enrolment.
 *
 * @param nodeId the enrolled node
 * @param name the name in the certificate
 * @param tags the tags in the certificate (from the token)
 * @param notAfter expiry, ISO-8601
 * @param certificateChain PEM: the node certificate, then the fleet CA certificate
 */
public record EnrolmentResponse(
        String nodeId, String name, List<String> tags, String notAfter, String certificateChain) {
    public EnrolmentResponse {
        tags = tags == null ? List.of() : List.copyOf(tags);
    }
}
