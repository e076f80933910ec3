package dev.burrow.bench.relay;

import java.util.Arrays;

/**
 * Relay load generator (issue 3), driven by {@code bench/relay-bench.sh}; the relay itself runs in
 * its own JVM ({@code burrow relay --dev}).
 *
 * <pre>
 * RelayBench throughput --relays epoll:PORT:PID:ADMINPORT,nio:... --fingerprint sha256:.. --pairs 1,4 --size 1400 \
 *            --warm 20 --warmup 5 --duration 10 --rounds 3 [--window 128] [--transport epoll]
 * RelayBench latency    --relay .. --fingerprint .. --echo-port E --echo-fingerprint .. [--count 20000 --rounds 3]
 * RelayBench idle       --relay .. --fingerprint .. --relay-pid PID --steps 2000,5000,10000 [--jcmd PATH]
 * RelayBench tls-echo   [--listen 127.0.0.1:0]      (the latency floor, in its own JVM)
 * </pre>
 * Each prints {@code RESULT key=value ...} lines.
 */
public final class RelayBench {
    private RelayBench() {}

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: RelayBench throughput|latency|idle|tls-echo --option value ...");
            System.exit(2);
        }
        Args a = new Args(args, 1);
        switch (args[0]) {
            case "throughput" -> ThroughputRun.run(a);
            case "latency" -> LatencyRun.run(a);
            case "idle" -> IdleRun.run(a);
            case "tls-echo" -> TlsEcho.serve(a);
            case "summarize" -> Summary.print(a);
            default ->
                throw new IllegalArgumentException("unknown command " + args[0] + " in " + Arrays.toString(args));
        }
        System.exit(0);
    }
}
