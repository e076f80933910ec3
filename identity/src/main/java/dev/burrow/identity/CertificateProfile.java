package dev.burrow.identity;

import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The Burrow node certificate profile (see {@code docs/identity.md}).
 *
 * <ul>
 *   <li>X.509 v3, Ed25519 subject key and Ed25519 signature, random positive 128-bit serial;</li>
 *   <li>subject {@code CN=<name>};</li>
 *   <li>subjectAltName: exactly one URI {@code burrow:node:<nodeId>} equal to the subject key, and one
 *       URI {@code burrow:tag:<tag>} per tag;</li>
 *   <li>basicConstraints cA=false (critical), keyUsage digitalSignature (critical),
 *       extendedKeyUsage serverAuth + clientAuth.</li>
 * </ul>
 *
 * A name or tags only carry authority when a configured fleet CA signed the certificate.
 */
public final class CertificateProfile {
    /** SAN URI prefix carrying the node ID. */
    public static final String NODE_URI_PREFIX = "burrow:node:";
    /** SAN URI prefix carrying one tag. */
    public static final String TAG_URI_PREFIX = "burrow:tag:";
    /** Longest name: one DNS label, so a name can become a host name. */
    public static final int MAX_NAME_LENGTH = 63;
    /** Longest tag. */
    public static final int MAX_TAG_LENGTH = 63;
    /** Most tags on one certificate: keeps certificates (and admission decisions) small. */
    public static final int MAX_TAGS = 32;
    /**
     * Longest chain a peer may present; longer chains are malformed. Matches the CLIENT_AUTH frame
     * limit in {@code docs/protocol.md} (only the leaf is judged; issuers come from configuration).
     */
    public static final int MAX_CHAIN_LENGTH = 4;

    private static final Pattern NAME = Pattern.compile("[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern TAG = Pattern.compile("[a-z0-9](?:[a-z0-9._-]{0,61}[a-z0-9])?");

    private CertificateProfile() {}

    /** True for a valid node name: 1-63 of {@code a-z 0-9 -}, not starting or ending with '-'. */
    public static boolean isValidName(String name) {
        return name != null
                && name.length() <= MAX_NAME_LENGTH
                && NAME.matcher(name).matches();
    }

    /** Longest name prefix a join token may fix: room is left for at least 16 characters after it. */
    public static final int MAX_NAME_PREFIX_LENGTH = 47;

    private static final Pattern NAME_PREFIX = Pattern.compile("[a-z0-9][a-z0-9-]*");

    /** True for a join token's name prefix: the start of a valid name, e.g. {@code ci-} or {@code web}. */
    public static boolean isValidNamePrefix(String prefix) {
        return prefix != null
                && prefix.length() <= MAX_NAME_PREFIX_LENGTH
                && NAME_PREFIX.matcher(prefix).matches();
    }

    /** True for a valid tag: 1-63 of {@code a-z 0-9 . _ -}, starting and ending with a letter or digit. */
    public static boolean isValidTag(String tag) {
        return tag != null && tag.length() <= MAX_TAG_LENGTH && TAG.matcher(tag).matches();
    }

    /** Returns the name or throws with the rule. */
    public static String requireValidName(String name) {
        if (!isValidName(name)) {
            throw new IllegalArgumentException("invalid node name " + quote(name) + ": use 1-" + MAX_NAME_LENGTH
                    + " characters a-z, 0-9 and '-', starting and ending with a letter or digit");
        }
        return name;
    }

    /** Returns the tags, sorted and de-duplicated, or throws with the rule. */
    public static Set<String> requireValidTags(Collection<String> tags) {
        TreeSet<String> out = new TreeSet<>();
        if (tags == null) {
            return Set.copyOf(out);
        }
        for (String t : tags) {
            if (!isValidTag(t)) {
                throw new IllegalArgumentException("invalid tag " + quote(t) + ": use 1-" + MAX_TAG_LENGTH
                        + " characters a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit");
            }
            out.add(t);
        }
        if (out.size() > MAX_TAGS) {
            throw new IllegalArgumentException("too many tags: " + out.size() + " > " + MAX_TAGS);
        }
        return Collections.unmodifiableSortedSet(out);
    }

    /** Derives a valid name from free text (e.g. a host name), or {@code fallback}. */
    public static String sanitizeName(String raw, String fallback) {
        if (raw == null) {
            return fallback;
        }
        String s = raw.toLowerCase(Locale.ROOT);
        int dot = s.indexOf('.');
        if (dot > 0) {
            s = s.substring(0, dot);
        }
        s = s.replaceAll("[^a-z0-9-]", "-").replaceAll("^-+|-+$", "");
        if (s.length() > MAX_NAME_LENGTH) {
            s = s.substring(0, MAX_NAME_LENGTH).replaceAll("-+$", "");
        }
        return isValidName(s) ? s : fallback;
    }

    static List<String> tagUris(Set<String> tags) {
        return tags.stream().map(t -> TAG_URI_PREFIX + t).toList();
    }

    private static String quote(String s) {
        if (s == null) {
            return "(none)";
        }
        String shown = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return "'" + shown.replaceAll("\\p{Cntrl}", "?") + "'";
    }
}
