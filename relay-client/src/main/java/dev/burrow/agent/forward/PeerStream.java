package dev.burrow.agent.forward;

import dev.burrow.identity.VerifiedPeer;
import io.netty.channel.Channel;
import io.netty.handler.ssl.SslHandler;

/**
 * An open, accepted peer stream on the dialer's side: TLS done, the listener verified, STATUS OK
 * received. Auto-read is off. Hand it to {@link #takeEarlyBytes()} and a splice on the channel's
 * event loop.
 */
public final class PeerStream {
    private final Channel channel;
    private final SslHandler ssl;
    private final VerifiedPeer peer;
    private final String path;
    private final PeerStreamDialer.DialHandler dialHandler;

    PeerStream(
            Channel channel, SslHandler ssl, VerifiedPeer peer, String path, PeerStreamDialer.DialHandler dialHandler) {
        this.channel = channel;
        this.ssl = ssl;
        this.peer = peer;
        this.path = path;
        this.dialHandler = dialHandler;
    }

    public Channel channel() {
        return channel;
    }

    public SslHandler ssl() {
        return ssl;
    }

    /** The listener, as verified by TLS. */
    public VerifiedPeer peer() {
        return peer;
    }

    /** The path that carries it ({@code relay}, ...). */
    public String path() {
        return path;
    }

    /**
     * Removes the dial handler. Service bytes the listener sent right after STATUS
     * (server-speaks-first protocols), and an end of input, wait in the channel's
     * {@link dev.burrow.agent.stream.EarlyInput} hold, which {@link dev.burrow.agent.stream.Splice#join}
     * hands to the splice. Must run on the channel's event loop.
     */
    void detach() {
        dialHandler.detach();
    }
}
