#!/usr/bin/env bash
# Bounded soak (issue 8; not part of CI): one relay, AGENTS agent processes (half expose an echo
# service, half forward to them), DGRAM_CLIENTS relay clients exchanging keyed datagrams, and mixed
# traffic (datagrams at DGRAM_RATE/s, one short connection per pair per second, BULK back-to-back
# 8 MiB streams, SHA-256 checked) for MINUTES. Every SAMPLE seconds one CSV row: relay heap after a
# full GC, fds, threads, RSS of the relay and the agents, relay clients/circuits/drops, traffic
# counters. The verdict compares the first and the last quarter: "flat", or what grew. Exit 0 = flat.
#   bench/soak.sh                                   10 minutes, 20 agents, 20 datagram clients
#   MINUTES=4 AGENTS=20 bench/soak.sh               a short run
#   OUT=/tmp/soak MINUTES=60 AGENTS=40 DGRAM_RATE=1000 BULK=4 bench/soak.sh
# Results: $OUT/soak.csv, $OUT/verdict.txt (default OUT=bench/target/soak).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=soak
. "$root/bench/lib.sh"

MINUTES=${MINUTES:-10}
AGENTS=${AGENTS:-20}
DGRAM_CLIENTS=${DGRAM_CLIENTS:-20}
DGRAM_RATE=${DGRAM_RATE:-200}
BULK=${BULK:-2}
SAMPLE=${SAMPLE:-15}
OUT=${OUT:-$root/bench/target/soak}

bench_build dev/burrow/bench/soak/SoakRun.class bench/src/main/java/dev/burrow/bench/soak
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

BENCH_STOP_TENTHS=150   # SoakRun's shutdown hook stops the relay and the agents first
bench_workdir

echo "soak: $MINUTES min, $AGENTS agents, $DGRAM_CLIENTS datagram clients at $DGRAM_RATE/s, $BULK bulk streams; nproc=$(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$JAVA_HOME/bin/java" -Xmx512m --enable-native-access=ALL-UNNAMED \
  -Dsoak.datagramsPerSecond="$DGRAM_RATE" -Dsoak.bulkStreams="$BULK" \
  -cp "$work/classes:$work/burrow.jar" dev.burrow.bench.soak.SoakRun \
  "$work/burrow.jar" "$OUT" "$MINUTES" "$AGENTS" "$DGRAM_CLIENTS" "$SAMPLE" &
pids+=($!)
set +e
wait "${pids[0]}"
rc=$?
set -e
pids=()
echo "soak: CSV $OUT/soak.csv; verdict: $(cat "$OUT/verdict.txt" 2>/dev/null || echo '(none)')" >&2
exit "$rc"
