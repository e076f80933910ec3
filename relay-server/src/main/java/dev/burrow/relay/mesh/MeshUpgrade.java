package dev.burrow.relay.mesh;

import dev.burrow.protocol.HttpUpgradeClient;
import dev.burrow.relay.mesh.protocol.MeshProtocol;
import io.netty.channel.ChannelHandlerContext;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * The dialer's side of the switch to the mesh protocol ({@link HttpUpgradeClient}: {@code GET /v1/mesh}
 * with {@code Upgrade: burrow-mesh-v1}); on 101 the mesh frame decoder goes in before the HTTP codec
 * leaves (so bytes the codec still holds reach it), then {@code switched} installs the handlers that
 * write (the codec would not pass mesh frames).
 */
final class MeshUpgrade extends HttpUpgradeClient {
    MeshUpgrade(String authority, Consumer<ChannelHandlerContext> switched) {
        super(authority, MeshProtocol.PATH, MeshProtocol.UPGRADE_TOKEN, new Upgraded() {
            @Override
            public void beforeCodecLeaves(ChannelHandlerContext ctx) {
                ctx.pipeline().addAfter(ctx.name(), "mesh-decoder", new MeshFrameDecoder());
            }

            @Override
            public void switched(ChannelHandlerContext ctx) {
                switched.accept(ctx); // adds the encoder and the handshake after the decoder
            }

            @Override
            public void failed(ChannelHandlerContext ctx, int status, String reason, Throwable cause) {
                if (cause == null && status != 0) {
                    ctx.fireExceptionCaught(new IOException("mesh upgrade refused: HTTP " + status));
                }
            }
        });
    }
}
