package dev.burrow.netlab;

import java.net.InetAddress;

/** A host on a private LAN behind a {@link NatRouter}. */
public final class LanHost extends Host {
    private final NatRouter router;

    LanHost(NetLab lab, String label, InetAddress address, NatRouter router) {
        super(lab, label, address);
        this.router = router;
    }

    /** The NAT router this host sits behind. */
    public NatRouter router() {
        return router;
    }
}
