package dev.burrow.relay.server.net;

import dev.burrow.relay.server.circuit.MeshCircuits;
import dev.burrow.relay.server.forward.ClientRegistry;
import dev.burrow.relay.server.forward.MeshRouter;
import java.net.InetAddress;

/**
 * What the relay's parts need from the mesh ({@code dev.burrow.relay.mesh}), so that none of them
 * imports it: the mesh is built last, from the finished {@link RelayContext}, and the parts built
 * before it (registry, connection gate, circuits, router) reach it through this interface.
 */
public interface RelayMesh extends AutoCloseable {
    /** Forwards datagrams whose destination is connected to a sibling. */
    MeshRouter router();

    /** Takes mesh connections on the public listener. */
    RelayContext.MeshEndpoint endpoint();

    /** Circuits whose other end is on a sibling. */
    MeshCircuits circuits();

    /** Told when a local client connects, leaves or changes name (the presence sent to siblings). */
    ClientRegistry.PresenceListener presence();

    /** Names of nodes connected to siblings. */
    ClientRegistry.RemoteNames names();

    /** True for the IPs of listed siblings (exempt from the per-IP connect limit). */
    boolean isSibling(InetAddress ip);

    /** True once the first mesh sync is done (readiness waits for it). */
    boolean synced();

    /** Starts resolving and dialling siblings; called once the public listener is bound. */
    void start();

    @Override
    void close();

    /** Builds the mesh from the finished context; returns {@link #NONE} when meshing is off. */
    @FunctionalInterface
    interface Factory {
        RelayMesh create(RelayContext rc);
    }

    /** No mesh. */
    RelayMesh NONE = new RelayMesh() {
        @Override
        public MeshRouter router() {
            return MeshRouter.NONE;
        }

        @Override
        public RelayContext.MeshEndpoint endpoint() {
            return RelayContext.MeshEndpoint.DISABLED;
        }

        @Override
        public MeshCircuits circuits() {
            return MeshCircuits.NONE;
        }

        @Override
        public ClientRegistry.PresenceListener presence() {
            return ClientRegistry.PresenceListener.NONE;
        }

        @Override
        public ClientRegistry.RemoteNames names() {
            return ClientRegistry.RemoteNames.NONE;
        }

        @Override
        public boolean isSibling(InetAddress ip) {
            return false;
        }

        @Override
        public boolean synced() {
            return true;
        }

        @Override
        public void start() {}

        @Override
        public void close() {}
    };
}
