/**
 * Keyed datagram forwarding. A SEND_DATAGRAM from A to key K becomes a RECV_DATAGRAM with A's
 * authenticated key in K's {@link dev.burrow.relay.server.forward.ClientSession}: a bounded
 * datagram queue (head drop when full) plus a small control queue that is always written first. The
 * forwarder never writes into an unwritable channel; a receiver unwritable for the write timeout is
 * disconnected. Unknown destinations get PEER_GONE(NOT_HERE), rate limited per sender; recent
 * senders hear PEER_PRESENT / PEER_GONE(DISCONNECTED) ({@link dev.burrow.relay.server.forward.PeerWatchers},
 * bounded). Same key twice: the newest connection wins
 * ({@link dev.burrow.relay.server.forward.ClientRegistry}).
 */
package dev.burrow.relay.server.forward;
