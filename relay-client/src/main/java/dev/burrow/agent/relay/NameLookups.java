package dev.burrow.agent.relay;

import dev.burrow.identity.NodeKey;
import dev.burrow.protocol.frame.ClientFrame;
import dev.burrow.protocol.frame.RelayFrame;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * LOOKUP_NAME requests waiting for their NAME_RESULT on the control connection they were sent on:
 * at most {@link RelayClient#MAX_PENDING_LOOKUPS}, each answered within
 * {@link RelayClient#LOOKUP_TIMEOUT} or failed.
 */
final class NameLookups {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);

    // Final after construction.
    private final RelayLink link;

    // Owned by the event loop.
    private final Map<Long, PendingLookup> pending = new HashMap<>();
    private long nextLookupId = ThreadLocalRandom.current().nextLong(0, 0x1_0000_0000L);

    NameLookups(RelayLink link) {
        this.link = link;
    }

    private static final class PendingLookup {
        final CompletableFuture<List<NodeKey>> result;
        final ControlHandler control;
        ScheduledFuture<?> timeout;

        PendingLookup(CompletableFuture<List<NodeKey>> result, ControlHandler control) {
            this.result = result;
            this.control = control;
        }
    }

    /** On the loop: @see RelayClient#lookupName(String) */
    void request(String name, CompletableFuture<List<NodeKey>> result) {
        ControlHandler c = link.current();
        if (link.closed() || c == null || !c.ready()) {
            result.completeExceptionally(new RelayUnavailableException("not connected to a relay"));
            return;
        }
        if (pending.size() >= RelayClient.MAX_PENDING_LOOKUPS) {
            result.completeExceptionally(new IllegalStateException(
                    "too many name lookups pending (" + RelayClient.MAX_PENDING_LOOKUPS + ")"));
            return;
        }
        long id;
        do {
            id = nextLookupId;
            nextLookupId = (nextLookupId + 1) & 0xFFFF_FFFFL;
        } while (pending.containsKey(id));
        long requestId = id;
        PendingLookup p = new PendingLookup(result, c);
        pending.put(requestId, p);
        p.timeout = link.loop()
                .schedule(
                        () -> {
                            if (pending.remove(requestId, p)) {
                                result.completeExceptionally(
                                        new RelayTimeoutException("relay did not answer the name lookup within "
                                                + RelayClient.LOOKUP_TIMEOUT.toMillis() + " ms"));
                            }
                        },
                        RelayClient.LOOKUP_TIMEOUT.toNanos(),
                        TimeUnit.NANOSECONDS);
        c.channel().writeAndFlush(new ClientFrame.LookupName(requestId, name)).addListener(f -> {
            if (!f.isSuccess() && pending.remove(requestId, p)) {
                p.timeout.cancel(false);
                result.completeExceptionally(new RelayUnavailableException("relay connection lost", f.cause()));
            }
        });
    }

    void result(ControlHandler h, RelayFrame.NameResult r) {
        PendingLookup p = pending.get(r.requestId());
        if (p == null || p.control != h) {
            log.debug("NAME_RESULT for unknown lookup {}", r.requestId());
            return;
        }
        pending.remove(r.requestId());
        p.timeout.cancel(false);
        p.result.complete(r.keys());
    }

    /** Fails lookups still waiting for an answer on {@code h} (all when null). */
    void connectionLost(ControlHandler h, IOException cause) {
        List<PendingLookup> lookups = new ArrayList<>();
        pending.values().removeIf(p -> {
            if (h == null || p.control == h) {
                lookups.add(p);
                return true;
            }
            return false;
        });
        for (PendingLookup p : lookups) {
            p.timeout.cancel(false);
            p.result.completeExceptionally(cause);
        }
    }
}
