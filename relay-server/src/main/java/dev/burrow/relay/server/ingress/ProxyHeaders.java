package dev.burrow.relay.server.ingress;

import dev.burrow.protocol.ProxyHeaderV2;
import io.netty.buffer.ByteBuf;
import java.net.InetSocketAddress;
import java.util.List;

/**
 * The PROXY protocol v2 header the relay puts first on an ingress circuit: command PROXY, TCP over
 * IPv4 or IPv6, source = the public client, destination = the relay's public port. No TLVs. Built by
 * {@link ProxyHeaderV2}.
 */
final class ProxyHeaders {
    private ProxyHeaders() {}

    static ByteBuf v2(InetSocketAddress client, InetSocketAddress publicPort) {
        return ProxyHeaderV2.encode(ProxyHeaderV2.message(client, publicPort, List.of()));
    }
}
