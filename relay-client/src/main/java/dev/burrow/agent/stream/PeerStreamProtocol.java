package dev.burrow.agent.stream;

/**
 * Version history of the peer stream preamble (see {@code docs/protocol.md}, "Peer streams").
 *
 * <table>
 *   <caption>versions</caption>
 *   <tr><th>version</th><th>release</th><th>change</th></tr>
 *   <tr><td>1</td><td>0.1.0</td><td>first version: OPEN (version, service) and STATUS (code, message)</td></tr>
 * </table>
 *
 * <p>The dialer states the version it speaks in OPEN; a listener that does not speak it answers
 * STATUS {@link StreamStatusCode#UNSUPPORTED_VERSION} and closes.
 */
public final class PeerStreamProtocol {
    /** The version this build speaks. */
    public static final int VERSION = 1;
    /** The oldest version this build still accepts. */
    public static final int MIN_VERSION = 1;

    private PeerStreamProtocol() {}

    public static boolean supports(int version) {
        return version >= MIN_VERSION && version <= VERSION;
    }
}
