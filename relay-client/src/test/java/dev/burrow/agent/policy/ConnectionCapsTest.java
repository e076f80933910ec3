package dev.burrow.agent.policy;

import static org.assertj.core.api.Assertions.assertThat;

import dev.burrow.identity.NodeKey;
import dev.burrow.identity.testing.TestIdentities;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Attack, stream floods from one peer: one peer cannot take every slot; slots come back exactly once. */
class ConnectionCapsTest {
    static final NodeKey A = TestIdentities.randomNodeKey();
    static final NodeKey B = TestIdentities.randomNodeKey();

    @Test
    void perPeerCapLeavesRoomForOthers() {
        ConnectionCaps caps = new ConnectionCaps(10, 3);
        List<ConnectionCaps.Permit> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(caps.tryAcquire(A));
        }
        assertThat(held).doesNotContainNull();
        assertThat(caps.tryAcquire(A)).isNull();
        assertThat(caps.wouldAdmit(A)).isFalse();
        assertThat(caps.wouldAdmit(B)).isTrue();
        assertThat(caps.tryAcquire(B)).isNotNull();
        assertThat(caps.open()).isEqualTo(4);
    }

    @Test
    void perServiceCapAndIdempotentRelease() {
        ConnectionCaps caps = new ConnectionCaps(2, 5);
        ConnectionCaps.Permit p1 = caps.tryAcquire(A);
        ConnectionCaps.Permit p2 = caps.tryAcquire(B);
        assertThat(caps.tryAcquire(A)).isNull();
        p1.close();
        p1.close();
        assertThat(caps.open()).isEqualTo(1);
        assertThat(caps.openFrom(A)).isZero();
        assertThat(caps.tryAcquire(A)).isNotNull();
        assertThat(caps.tryAcquire(A)).isNull();
        p2.close();
        assertThat(caps.open()).isEqualTo(1);
    }

    @Test
    void limitsChangeLive() {
        ConnectionCaps caps = new ConnectionCaps(1, 1);
        assertThat(caps.tryAcquire(A)).isNotNull();
        assertThat(caps.tryAcquire(B)).isNull();
        caps.limits(2, 1);
        assertThat(caps.tryAcquire(B)).isNotNull();
    }

    @Test
    void concurrentAcquireNeverExceedsTheCap() throws Exception {
        ConnectionCaps caps = new ConnectionCaps(50, 50);
        List<Thread> threads = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger got = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < 8; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 100; i++) {
                    if (caps.tryAcquire(A) != null) {
                        got.incrementAndGet();
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join(10_000);
        }
        assertThat(got.get()).isEqualTo(50);
        assertThat(caps.open()).isEqualTo(50);
    }
}
