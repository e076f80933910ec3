package dev.burrow.stun.client;

import dev.burrow.stun.codec.Integrity;
import dev.burrow.stun.codec.StunAttribute.ChangeRequest;
import java.net.InetSocketAddress;
import java.util.Objects;

/**
 * One Binding transaction to run.
 *
 * @param server         where to send the request (must be resolved)
 * @param change         RFC 5780 CHANGE-REQUEST to include, or null
 * @param expectedSource the only address a response is accepted from; the server itself unless a
 *                       CHANGE-REQUEST makes another of the server's addresses answer
 * @param username       USERNAME for short-term credentials, or null
 * @param integrity      key to add MESSAGE-INTEGRITY with (and to check the response), or null
 * @param policy         retransmission timing, or null for the client's default
 */
public record BindingRequest(
        InetSocketAddress server,
        ChangeRequest change,
        InetSocketAddress expectedSource,
        String username,
        Integrity integrity,
        RetransmissionPolicy policy) {
    public BindingRequest {
        Objects.requireNonNull(server, "server");
        if (server.isUnresolved()) {
            throw new IllegalArgumentException("unresolved STUN server address " + server);
        }
        if (expectedSource == null) {
            expectedSource = server;
        }
        if ((username == null) != (integrity == null)) {
            throw new IllegalArgumentException("username and integrity go together");
        }
    }

    public static BindingRequest to(InetSocketAddress server) {
        return new BindingRequest(server, null, null, null, null, null);
    }

    /** Adds CHANGE-REQUEST; the answer is expected from {@code answerFrom}. */
    public BindingRequest withChange(boolean changeIp, boolean changePort, InetSocketAddress answerFrom) {
        return new BindingRequest(
                server, new ChangeRequest(changeIp, changePort), answerFrom, username, integrity, policy);
    }

    public BindingRequest withCredentials(String user, Integrity key) {
        return new BindingRequest(server, change, expectedSource, user, key, policy);
    }

    public BindingRequest withPolicy(RetransmissionPolicy p) {
        return new BindingRequest(server, change, expectedSource, username, integrity, p);
    }
}
