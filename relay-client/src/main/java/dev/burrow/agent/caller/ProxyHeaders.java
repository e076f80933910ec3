package dev.burrow.agent.caller;

import dev.burrow.protocol.ProxyHeaderV2;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.haproxy.HAProxyMessage;
import io.netty.handler.codec.haproxy.HAProxyTLV;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builds the PROXY protocol v2 header the agent writes to a target that opted in
 * ({@link ProxyProtocol#V2}) with {@link ProxyHeaderV2}; Netty's {@code HAProxyMessageEncoder} turns it into bytes.
 *
 * <p>Command PROXY, TCP over the target's address family. Source: the peer's mapped address
 * ({@link PeerAddresses}) and the agent's own local port of this connection (so the header and
 * {@code burrow whois} name the same connection). Destination: the target address and port the
 * agent connected to. TLVs, in the range PROXY v2 reserves for custom use (0xE0-0xEF), values
 * without any terminator:
 *
 * <table>
 *   <caption>Burrow TLVs</caption>
 *   <tr><th>type</th><th>value</th><th>present</th></tr>
 *   <tr><td>{@value #TLV_NODE_ID} (0xE0)</td><td>node ID, ASCII (base32 text form)</td><td>always</td></tr>
 *   <tr><td>{@value #TLV_NAME} (0xE1)</td><td>name, UTF-8</td><td>certificate issued by a trusted fleet CA</td></tr>
 *   <tr><td>{@value #TLV_TAGS} (0xE2)</td><td>tags, sorted, joined with ','</td><td>CA-issued and at least one tag</td></tr>
 *   <tr><td>{@value #TLV_SERVICE} (0xE3)</td><td>exposed service name, ASCII</td><td>always</td></tr>
 *   <tr><td>{@value #TLV_PATH} (0xE4)</td><td>path that carried the stream (relay, direct), ASCII</td><td>always</td></tr>
 * </table>
 *
 * <p>Every value is bounded by the certificate profile (names and tags at most 63 characters, at
 * most 32 tags) and the service-name rules, so a header stays under 3 KiB.
 */
public final class ProxyHeaders {
    public static final int TLV_NODE_ID = 0xE0;
    public static final int TLV_NAME = 0xE1;
    public static final int TLV_TAGS = 0xE2;
    public static final int TLV_SERVICE = 0xE3;
    public static final int TLV_PATH = 0xE4;

    private ProxyHeaders() {}

    /**
     * The header for one connection. The returned message owns its TLV buffers (allocated from
     * {@code alloc}); writing it through {@code HAProxyMessageEncoder} releases it.
     *
     * @param local the agent's end of the connection to the target
     * @param target the target's address (what the agent connected to)
     */
    public static HAProxyMessage message(
            Caller caller,
            InetSocketAddress local,
            InetSocketAddress target,
            InetAddress mappedSource,
            ByteBufAllocator alloc) {
        boolean v4 = target.getAddress() instanceof Inet4Address;
        if (v4 != (mappedSource instanceof Inet4Address)) {
            throw new IllegalArgumentException("mapped source and target differ in address family");
        }
        List<HAProxyTLV> tlvs = new ArrayList<>(5);
        tlvs.add(tlv(TLV_NODE_ID, caller.nodeId(), alloc));
        if (caller.caIssued() && caller.name() != null) {
            tlvs.add(tlv(TLV_NAME, caller.name(), alloc));
        }
        if (caller.caIssued() && !caller.tags().isEmpty()) {
            tlvs.add(tlv(
                    TLV_TAGS, String.join(",", caller.tags().stream().sorted().toList()), alloc));
        }
        tlvs.add(tlv(TLV_SERVICE, caller.service(), alloc));
        if (caller.path() != null) {
            tlvs.add(tlv(TLV_PATH, caller.path(), alloc));
        }
        return ProxyHeaderV2.message(new InetSocketAddress(mappedSource, local.getPort()), target, tlvs);
    }

    private static HAProxyTLV tlv(int type, String value, ByteBufAllocator alloc) {
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = alloc.buffer(b.length).writeBytes(b);
        return new HAProxyTLV((byte) type, buf);
    }
}
