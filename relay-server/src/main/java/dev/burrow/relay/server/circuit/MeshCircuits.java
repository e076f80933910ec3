package dev.burrow.relay.server.circuit;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.CircuitId;
import dev.burrow.protocol.frame.CircuitRejectReason;
import dev.burrow.protocol.frame.CircuitToken;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.relay.server.forward.ClientSession;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;

/**
 * Circuits whose other end is on a sibling relay ({@code dev.burrow.relay.mesh}). On the dialer's
 * relay the manager asks {@link #request} when the listener is not connected here, and
 * {@link #attach} when an attach names a circuit it does not know.
 */
public interface MeshCircuits {
    /** @return true when a sibling has the destination and the request went to it (it answers the dialer) */
    boolean request(ClientSession dialer, ClientFrame.CircuitRequest req);

    /** @return true when {@code a} is the dialer end of a bridged circuit: the mesh now owns {@code ch} */
    boolean attach(Channel ch, ClientFrame.CircuitAttach a);

    MeshCircuits NONE = new MeshCircuits() {
        @Override
        public boolean request(ClientSession dialer, ClientFrame.CircuitRequest req) {
            return false;
        }

        @Override
        public boolean attach(Channel ch, ClientFrame.CircuitAttach a) {
            return false;
        }
    };

    /** On the listener's relay: the dialer of a circuit requested over the mesh, answered over the mesh link. */
    interface RemoteDialer {
        NodeKey key();

        /** Sends the dialer end's token to the dialer's relay; false when the link is gone or full. */
        boolean accepted(CircuitId circuitId, CircuitToken dialerToken);

        void rejected(CircuitRejectReason reason, String message);
    }

    /** A pipeline handler holding bytes that arrived behind the attach, handed to the proxy on join. */
    interface EarlyBytes extends ChannelHandler {
        /** Ownership moves to the caller; null when none. Event loop only. */
        ByteBuf takeEarlyBytes();
    }
}
