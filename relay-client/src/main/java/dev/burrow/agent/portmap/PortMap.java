package dev.burrow.agent.portmap;

import java.net.InetSocketAddress;

/**
 * A mapping a gateway granted: UDP {@code internalPort} of this host is reachable at
 * {@code external} for {@code lifetimeSeconds} from {@code grantedAtNanos} ({@link System#nanoTime()}).
 * {@code nonce} is the PCP nonce (renewals and the deletion repeat it), null otherwise;
 * {@code upnp} the gateway's WAN connection service (renewals and the deletion use it), null otherwise.
 */
public record PortMap(
        PortMapProtocol protocol,
        int internalPort,
        InetSocketAddress external,
        long lifetimeSeconds,
        long grantedAtNanos,
        PcpNonce nonce,
        UpnpCodec.WanService upnp) {}
