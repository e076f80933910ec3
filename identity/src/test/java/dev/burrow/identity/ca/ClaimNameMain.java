package dev.burrow.identity.ca;

import dev.burrow.identity.NodeIdentity;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * Child process for {@link IssuedNamesTest}: waits for a start file, claims the name given as its
 * third argument for a fresh key and prints {@code OK} or {@code TAKEN} after {@link #PREFIX}.
 * Bounded wait (10 s).
 */
public final class ClaimNameMain {
    /** Marks protocol lines; everything else on stdout is log output. */
    static final String PREFIX = "claim-result: ";

    private ClaimNameMain() {}

    public static void main(String[] args) throws Exception {
        Path caDir = Path.of(args[0]);
        Path go = Path.of(args[1]);
        IssuedNames names = IssuedNames.open(caDir, Clock.systemUTC());
        NodeIdentity me = NodeIdentity.ephemeral("child");
        System.out.println(PREFIX + "READY");
        System.out.flush();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(go) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        try {
            names.claim(me.nodeKey(), List.of(args[2]), false);
            System.out.println(PREFIX + "OK");
        } catch (IssuedNames.NameTakenException e) {
            System.out.println(PREFIX + "TAKEN");
        }
    }
}
