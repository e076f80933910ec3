package dev.burrow.agent.udp;

import dev.burrow.agent.stream.StreamStatusCode;

/** What the UDP services report; meter names are constants, tags are small enums (never addresses or nodes). */
public interface UdpMetrics {
    String FLOWS_OPENED = "burrow.agent.udp.flows.opened";
    String FLOWS_REFUSED = "burrow.agent.udp.flows.refused";
    String FLOWS_CLOSED = "burrow.agent.udp.flows.closed";
    String DATAGRAMS = "burrow.agent.udp.datagrams";
    String BYTES = "burrow.agent.udp.bytes";
    String DROPPED = "burrow.agent.udp.dropped";

    /** Which end of a flow this agent is. */
    enum Side {
        EXPOSE,
        CONNECT
    }

    void flowOpened(Side side);

    void flowRefused(Side side, StreamStatusCode code);

    void flowClosed(Side side, UdpCloseReason reason);

    /** One user datagram carried; {@code toPeer} is its way. */
    void datagram(Side side, boolean toPeer, int bytes);

    void dropped(UdpDropReason reason);

    UdpMetrics NOOP = new UdpMetrics() {
        @Override
        public void flowOpened(Side side) {}

        @Override
        public void flowRefused(Side side, StreamStatusCode code) {}

        @Override
        public void flowClosed(Side side, UdpCloseReason reason) {}

        @Override
        public void datagram(Side side, boolean toPeer, int bytes) {}

        @Override
        public void dropped(UdpDropReason reason) {}
    };
}
