package dev.burrow.identity.enrol;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/** JSON encoding of enrolment messages, with size and nesting limits checked before parsing (oversized pre-auth input). */
public final class EnrolmentMessages {
    /** Largest request body: a token, a node ID, a signature and a name fit in well under 1 KiB. */
    public static final int MAX_REQUEST_BYTES = 8 * 1024;
    /** Largest response body: two certificates in PEM are about 2 KiB. */
    public static final int MAX_RESPONSE_BYTES = 64 * 1024;
    /** Messages are flat objects; anything deeper is hostile. */
    public static final int MAX_NESTING_DEPTH = 4;

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder()
                            .maxNestingDepth(MAX_NESTING_DEPTH)
                            .maxStringLength(MAX_RESPONSE_BYTES)
                            .build())
                    .build())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES); // newer clients may add fields

    private EnrolmentMessages() {}

    public static byte[] encode(EnrolmentRequest r) {
        return write(r);
    }

    public static byte[] encode(EnrolmentResponse r) {
        return write(r);
    }

    /** Parses a request; the size is checked before any parsing. */
    public static EnrolmentRequest parseRequest(byte[] body) throws EnrolmentException {
        return read(body, MAX_REQUEST_BYTES, EnrolmentRequest.class);
    }

    /** Parses a response; the size is checked before any parsing. */
    public static EnrolmentResponse parseResponse(byte[] body) throws EnrolmentException {
        return read(body, MAX_RESPONSE_BYTES, EnrolmentResponse.class);
    }

    /**
     * The body of a refusal: {@code {"error":"<reason>","message":"<text>"}}. The message is the
     * exception's, which never holds the token; it tells the node what to do (e.g. that a name is taken).
     */
    public static byte[] encodeError(EnrolmentException e) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("error", e.reason().name().toLowerCase(Locale.ROOT));
        m.put("message", e.getMessage());
        return write(m);
    }

    /** The readable part of a refusal body: its message when it has one, else the text as it is. */
    public static String errorText(byte[] body) {
        try {
            JsonNode n = JSON.readTree(body);
            if (n != null && n.hasNonNull("message")) {
                return n.get("message").asText();
            }
            if (n != null && n.hasNonNull("error")) {
                return n.get("error").asText();
            }
        } catch (IOException | RuntimeException notJson) {
            // fall through: show the text
        }
        return new String(body, StandardCharsets.UTF_8).strip();
    }

    private static <T> T read(byte[] body, int cap, Class<T> type) throws EnrolmentException {
        if (body == null) {
            throw new EnrolmentException(EnrolmentException.Reason.BAD_REQUEST, "empty body");
        }
        if (body.length > cap) {
            throw new EnrolmentException(EnrolmentException.Reason.TOO_LARGE, "body larger than " + cap + " bytes");
        }
        try {
            T value = JSON.readValue(body, type);
            if (value == null) {
                throw new EnrolmentException(EnrolmentException.Reason.BAD_REQUEST, "empty body");
            }
            return value;
        } catch (IOException e) {
            // Jackson messages quote input (which may hold the token): report only the kind of error.
            throw new EnrolmentException(
                    EnrolmentException.Reason.BAD_REQUEST,
                    "malformed JSON (" + e.getClass().getSimpleName() + ")");
        }
    }

    private static byte[] write(Object o) {
        try {
            return JSON.writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
