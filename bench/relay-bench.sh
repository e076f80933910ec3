#!/usr/bin/env bash
# Relay forwarding benchmarks (issue 3), side by side in one run:
#   throughput  N sender clients -> N receiver clients through the relay, SIZE-byte keyed datagrams,
#               TLS on both legs, once per relay transport (epoll, nio, io_uring), rounds interleaved;
#   latency     64-byte datagram ping-pong A -> relay -> B -> relay -> A, alternated with the same
#               ping-pong over one direct loopback TLS connection (the floor);
#   idle        authenticated idle clients in steps, the relay's heap after a full GC per step;
#   codec       (only when asked: PARTS=codec) JMH FrameCodecBench, the frame work per datagram without TLS.
# The relay (`burrow relay --dev`) runs in its own JVM pinned to RELAY_CPU; the load generator
# (dev.burrow.bench.relay.RelayBench) in another JVM pinned to LOAD_CPU.
#   bench/relay-bench.sh                                    everything, defaults below
#   PARTS=latency ROUNDS=5 bench/relay-bench.sh             one part, more rounds
#   TRANSPORTS=epoll PAIRS=4 DURATION=20 bench/relay-bench.sh
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=relay-bench
. "$root/bench/lib.sh"

PARTS=${PARTS:-"throughput latency idle"}
ROUNDS=${ROUNDS:-3}                       # throughput and latency rounds (interleaved)
DURATION=${DURATION:-10}                  # measured seconds per throughput run
WARM=${WARM:-20}                          # unmeasured seconds per relay before round 1 (JIT of relay and generator)
WARMUP=${WARMUP:-5}                       # unmeasured seconds at the start of every run (fresh clients)
PAIRS=${PAIRS:-"1 4"}                     # sender/receiver pairs
SIZE=${SIZE:-1400}                        # datagram payload bytes
WINDOW=${WINDOW:-128}                     # datagrams a sender may be ahead of its receiver (0 = open loop)
TRANSPORTS=${TRANSPORTS:-"epoll nio iouring"}   # relay transports for throughput
LOAD_TRANSPORT=${LOAD_TRANSPORT:-epoll}   # the generator's (and echo server's) transport, fixed
PING_SIZE=${PING_SIZE:-64}
PING_COUNT=${PING_COUNT:-20000}           # recorded exchanges per round and path
PING_WARMUP=${PING_WARMUP:-5000}
IDLE_STEPS=${IDLE_STEPS:-2000,5000,10000}
RELAY_HEAP=${RELAY_HEAP:-2g}
RELAY_CPU=${RELAY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
RELAY_JAVA_OPTS=${RELAY_JAVA_OPTS:-}      # extra relay JVM options, e.g. -XX:StartFlightRecording=filename=/tmp/r.jfr

bench_build dev/burrow/bench/relay/RelayBench.class bench/src/main/java/dev/burrow/bench/relay

pin_relay=(); pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_relay=(taskset -c "$RELAY_CPU"); pin_load=(taskset -c "$LOAD_CPU")
else
  echo "relay-bench: taskset or a second core missing: not pinning" >&2
fi
# Thousands of idle clients: one fd each in the generator and in the relay.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

bench_workdir

java_load() { # generator JVM: $@ = RelayBench command and options
  "${pin_load[@]}" "$JAVA_HOME/bin/java" -Xms1g -Xmx4g -XX:+UseG1GC --enable-native-access=ALL-UNNAMED \
    -Dbench.clkTck="$(getconf CLK_TCK)" -cp "$classes:$jar" dev.burrow.bench.relay.RelayBench "$@"
}

# start_relay NAME TRANSPORT: a dev relay in its own JVM; sets R_PID R_PORT R_ADMIN R_FP
start_relay() {
  local name=$1 tr=$2 port admin
  port=$(free_port); admin=$(free_port)
  BURROW_LOG_LEVEL=WARN "${pin_relay[@]}" "$JAVA_HOME/bin/java" -Xms"$RELAY_HEAP" -Xmx"$RELAY_HEAP" -XX:+UseG1GC $RELAY_JAVA_OPTS \
    --enable-native-access=ALL-UNNAMED -jar "$jar" relay --dev --listen "127.0.0.1:$port" --admin-listen "127.0.0.1:$admin" \
    --transport "$tr" --drain-grace 0s --set tls.dev-dir="$work/tls" \
    --set limits.ip-connect-rate=1000000 --set limits.ip-connect-burst=1000000 --set limits.max-handshakes=4096 --set limits.max-handshakes-per-ip=4096 \
    >"$work/relay-$name.log" 2>&1 &
  R_PID=$!
  pids+=("$R_PID")
  for _ in $(seq 600); do
    grep -qs '^development certificate sha256:' "$work/relay-$name.log" && break
    kill -0 "$R_PID" 2>/dev/null || { cat "$work/relay-$name.log" >&2; echo "relay-bench: relay $name died" >&2; exit 1; }
    sleep 0.1
  done
  R_FP=$(grep -o '^development certificate sha256:[0-9a-f]*' "$work/relay-$name.log" | head -n1 | cut -d' ' -f3)
  [ -n "$R_FP" ] || { cat "$work/relay-$name.log" >&2; echo "relay-bench: relay $name did not start" >&2; exit 1; }
  R_PORT=$port; R_ADMIN="127.0.0.1:$admin"
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

results="$work/results"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

if [[ " $PARTS " == *" throughput "* || " $PARTS " == *" latency "* ]]; then
  declare -A relay_pid relay_port relay_admin
  fp=""
  for tr in $TRANSPORTS; do
    start_relay "$tr" "$tr"
    relay_pid[$tr]=$R_PID; relay_port[$tr]=$R_PORT; relay_admin[$tr]=$R_ADMIN; fp=$R_FP
  done
  if [[ " $PARTS " == *" throughput "* ]]; then
    specs=""
    for tr in $TRANSPORTS; do specs="$specs${specs:+,}$tr:${relay_port[$tr]}:${relay_pid[$tr]}:${relay_admin[$tr]#127.0.0.1:}"; done
    echo "relay-bench: throughput, relays $TRANSPORTS, pairs $PAIRS, $ROUNDS interleaved rounds (one generator JVM)..." >&2
    java_load throughput --relays "$specs" --fingerprint "$fp" --pairs "$(echo $PAIRS | tr ' ' ,)" --size "$SIZE" \
      --warm "$WARM" --warmup "$WARMUP" --duration "$DURATION" --rounds "$ROUNDS" --window "$WINDOW" --transport "$LOAD_TRANSPORT" \
      2>>"$work/load.err" | grep '^RESULT' >>"$results" \
      || echo "relay-bench: throughput run failed: $(tail -n3 "$work/load.err")" >&2
  fi
  if [[ " $PARTS " == *" latency "* ]]; then
    first=$(echo $TRANSPORTS | cut -d' ' -f1)
    "${pin_relay[@]}" "$JAVA_HOME/bin/java" -Xmx512m --enable-native-access=ALL-UNNAMED -cp "$classes:$jar" \
      dev.burrow.bench.relay.RelayBench tls-echo --listen 127.0.0.1:0 --transport "$LOAD_TRANSPORT" >"$work/echo.log" 2>&1 &
    echo_pid=$!; pids+=("$echo_pid")
    for _ in $(seq 600); do grep -qs '^ECHO ' "$work/echo.log" && break; sleep 0.1; done
    echo_port=$(sed -n 's/^ECHO port=\([0-9]*\) .*/\1/p' "$work/echo.log")
    echo_fp=$(sed -n 's/^ECHO .*fingerprint=\(sha256:[0-9a-f]*\).*/\1/p' "$work/echo.log")
    echo "relay-bench: latency, relay transport $first, $ROUNDS rounds of $PING_COUNT exchanges per path..." >&2
    java_load latency --relay "https://127.0.0.1:${relay_port[$first]}" --fingerprint "$fp" --echo-port "$echo_port" \
      --echo-fingerprint "$echo_fp" --size "$PING_SIZE" --count "$PING_COUNT" --warmup "$PING_WARMUP" --rounds "$ROUNDS" \
      --transport "$LOAD_TRANSPORT" 2>>"$work/load.err" | grep '^RESULT' | sed "s/^RESULT /RESULT transport=$first /" >>"$results" \
      || echo "relay-bench: latency run failed: $(tail -n3 "$work/load.err")" >&2
    stop_pid "$echo_pid"
  fi
  for tr in $TRANSPORTS; do stop_pid "${relay_pid[$tr]}"; done
fi

if [[ " $PARTS " == *" idle "* ]]; then
  start_relay idle epoll
  echo "relay-bench: idle clients, steps $IDLE_STEPS..." >&2
  java_load idle --relay "https://127.0.0.1:$R_PORT" --fingerprint "$R_FP" --relay-pid "$R_PID" --admin "$R_ADMIN" \
    --steps "$IDLE_STEPS" --jcmd "$JAVA_HOME/bin/jcmd" --transport "$LOAD_TRANSPORT" \
    2>>"$work/load.err" | grep '^RESULT' >>"$results" \
    || echo "relay-bench: idle run failed: $(tail -n3 "$work/load.err")" >&2
  stop_pid "$R_PID"
fi

if [[ " $PARTS " == *" codec "* ]]; then
  # JMH microbenchmark of the frame codec hot path (no TLS, no sockets): the burrow jar plus JMH and
  # its two dependencies from the local Maven repository (the build downloaded them).
  m2="${MAVEN_REPO:-$HOME/.m2/repository}"
  jmh_cp=$(find "$m2/org/openjdk/jmh/jmh-core" "$m2/net/sf/jopt-simple/jopt-simple" "$m2/org/apache/commons/commons-math3" \
    -name '*.jar' ! -name '*sources*' | tr '\n' ':')
  echo "relay-bench: JMH FrameCodecBench..." >&2
  "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes:$jar:$jmh_cp" org.openjdk.jmh.Main FrameCodecBench \
    -jvmArgsAppend "-Dio.netty.leakDetection.level=disabled" >"$work/jmh.txt" 2>&1 || echo "relay-bench: JMH failed" >&2
fi

echo
if [ ${#pin_relay[@]} -gt 0 ]; then where="relay (and TLS echo) on CPU $RELAY_CPU, load generator on CPU $LOAD_CPU"; else where="unpinned"; fi
echo "Relay benchmarks: $where; $("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(nproc) cores;"
echo "load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$classes:$jar" dev.burrow.bench.relay.RelayBench summarize --file "$results"
if [ -f "$work/jmh.txt" ]; then
  echo; echo "JMH FrameCodecBench (ns per datagram: decode SEND_DATAGRAM + encode RECV_DATAGRAM):"
  sed -n '/^Benchmark/,$p' "$work/jmh.txt"
fi
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
