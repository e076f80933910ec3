package dev.burrow.identity.token;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/**
 * Child process for {@link JoinTokenStoreTest}: waits for a start file, consumes the token given on
 * stdin once and prints {@code OK} or {@code REFUSED <reason>} after {@link #PREFIX}. Bounded wait (10 s).
 */
public final class ConsumeTokenMain {
    /** Marks protocol lines; everything else on stdout is log output. */
    static final String PREFIX = "consume-result: ";

    private ConsumeTokenMain() {}

    public static void main(String[] args) throws Exception {
        Path caDir = Path.of(args[0]);
        Path go = Path.of(args[1]);
        String token = new String(System.in.readAllBytes(), java.nio.charset.StandardCharsets.US_ASCII).strip();
        JoinTokenStore store = JoinTokenStore.open(caDir, Clock.systemUTC());
        System.out.println(PREFIX + "READY");
        System.out.flush();
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!Files.exists(go) && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        try {
            store.consume(token);
            System.out.println(PREFIX + "OK");
        } catch (InvalidTokenException e) {
            System.out.println(PREFIX + "REFUSED " + e.reason());
        }
    }
}
