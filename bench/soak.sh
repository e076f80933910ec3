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
. "$root/scripts/find-java.sh"
burrow_find_java
burrow_quiet_maven
cd "$root"

MINUTES=${MINUTES:-10}
AGENTS=${AGENTS:-20}
DGRAM_CLIENTS=${DGRAM_CLIENTS:-20}
DGRAM_RATE=${DGRAM_RATE:-200}
BULK=${BULK:-2}
SAMPLE=${SAMPLE:-15}
OUT=${OUT:-$root/bench/target/soak}

jar="$root/cli/target/burrow.jar"
classes="${BENCH_CLASSES:-$root/bench/target/classes}"
main_class="$classes/dev/burrow/bench/soak/SoakRun.class"
stale() {
  [ -f "$jar" ] && [ -f "$main_class" ] || return 0
  [ -n "$(find "$root/relay-server/src/main" "$root/relay-client/src/main" "$root/relay-protocol/src/main" "$root/cli/src/main" \
      -name '*.java' -newer "$jar" -print -quit)" ] \
    || [ -n "$(find "$root/bench/src/main/java/dev/burrow/bench/soak" -name '*.java' -newer "$main_class" -print -quit)" ]
}
if [ -z "${BENCH_CLASSES:-}" ] && stale; then
  echo "soak: building (mvn package -pl bench -am)..." >&2
  mvn -B -q -DskipTests package -pl bench -am >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

work="$(mktemp -d)"
# Others may rebuild cli/target in this checkout while we run: use a private copy of the jar and classes.
cp "$jar" "$work/burrow.jar"
cp -r "$classes" "$work/classes"
pid=
cleanup() {
  if [ -n "$pid" ]; then
    kill "$pid" 2>/dev/null || true   # SoakRun's shutdown hook stops the relay and the agents
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "soak: $MINUTES min, $AGENTS agents, $DGRAM_CLIENTS datagram clients at $DGRAM_RATE/s, $BULK bulk streams; nproc=$(nproc), load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$JAVA_HOME/bin/java" -Xmx512m --enable-native-access=ALL-UNNAMED \
  -Dsoak.datagramsPerSecond="$DGRAM_RATE" -Dsoak.bulkStreams="$BULK" \
  -cp "$work/classes:$work/burrow.jar" dev.burrow.bench.soak.SoakRun \
  "$work/burrow.jar" "$OUT" "$MINUTES" "$AGENTS" "$DGRAM_CLIENTS" "$SAMPLE" &
pid=$!
set +e
wait "$pid"
rc=$?
set -e
pid=
echo "soak: CSV $OUT/soak.csv; verdict: $(cat "$OUT/verdict.txt" 2>/dev/null || echo '(none)')" >&2
exit "$rc"
