package dev.burrow.agent.relay;

import dev.burrow.protocol.HttpUpgradeClient;
import dev.burrow.protocol.RelayProtocol;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.FullHttpRequest;

/**
 * Client side of the raw-TCP mode ({@link HttpUpgradeClient} with {@code Upgrade: burrow-relay-v1}):
 * on {@code 101} the HTTP codec and this handler leave and {@link TransportReadyEvent} goes up the
 * pipeline; any other status fails with {@link UpgradeRefusedException} and closes.
 */
final class HttpUpgradeHandler extends HttpUpgradeClient {
    private static final Upgraded TO_RELAY = new Upgraded() {
        @Override
        public void switched(ChannelHandlerContext ctx) {
            ctx.fireUserEventTriggered(TransportReadyEvent.INSTANCE);
        }

        @Override
        public void failed(ChannelHandlerContext ctx, int status, String reason, Throwable cause) {
            ctx.fireExceptionCaught(cause != null ? cause : new UpgradeRefusedException(status, reason));
        }
    };

    HttpUpgradeHandler(String authority, String path) {
        super(authority, path, RelayProtocol.UPGRADE_TOKEN, TO_RELAY);
    }

    static FullHttpRequest request(String authority, String path) {
        return HttpUpgradeClient.request(authority, path, RelayProtocol.UPGRADE_TOKEN);
    }
}
