package dev.burrow.stun.probe;

import java.net.InetSocketAddress;
import java.time.Duration;

/**
 * One Binding transaction of a probe.
 *
 * @param test    what was tested ("binding", "rfc5780 alternate IP", ...)
 * @param server  where the request went
 * @param mapped  the reflexive address the server saw, or null when it failed
 * @param elapsed time to the answer, or null when it failed
 * @param error   why it failed, or null
 */
public record ServerObservation(
        String test, InetSocketAddress server, InetSocketAddress mapped, Duration elapsed, String error) {
    public boolean succeeded() {
        return mapped != null;
    }
}
