#!/usr/bin/env bash
# STUN Binding throughput, side by side in one run: Burrow's STUN server and coturn's turnserver,
# each pinned to one core, driven by the same Java load generator pinned to another core.
#   bench/stun-bench.sh                      defaults below
#   DURATION=30 ROUNDS=3 bench/stun-bench.sh longer, repeated (servers alternate each round)
# Prints a table of answered (validated) Binding requests per second.
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/scripts/find-java.sh"
burrow_find_java
burrow_quiet_maven
cd "$root"

DURATION=${DURATION:-15}        # measured seconds per server and round
WARMUP=${WARMUP:-5}             # unmeasured seconds first (JIT, caches)
ROUNDS=${ROUNDS:-1}
SOCKETS=${SOCKETS:-4}           # generator sockets
OUTSTANDING=${OUTSTANDING:-64}  # requests in flight per socket
TRANSPORT=${TRANSPORT:-epoll}   # Netty transport for our server and the generator
BURROW_ARGS=${BURROW_ARGS:-}    # extra stun-server options, e.g. "--recv-batch 1"
ONLY=${ONLY:-}                  # "burrow" or "coturn" to run one server only
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

jar="$root/cli/target/burrow.jar"
gen_class="$root/bench/target/classes/dev/burrow/bench/stun/StunLoadGenerator.class"
stale() {
  [ -f "$jar" ] && [ -f "$gen_class" ] || return 0
  [ -n "$(find "$root/stun/src/main" "$root/cli/src/main" "$root/bench/src/main" -name '*.java' -newer "$jar" -print -quit)" ] \
    || [ -n "$(find "$root/bench/src/main" -name '*.java' -newer "$gen_class" -print -quit)" ]
}
if stale; then
  echo "stun-bench: building (mvn package -pl bench -am)..." >&2
  mvn -B -q -DskipTests package -pl bench -am >&2
fi
command -v turnserver >/dev/null || { echo "stun-bench: turnserver (coturn) not installed: scripts/install-test-deps.sh" >&2; exit 1; }

pin_server=(); pin_load=()
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
  pin_server=(taskset -c "$SERVER_CPU"); pin_load=(taskset -c "$LOAD_CPU")
else
  echo "stun-bench: taskset or a second core missing: not pinning (results are not per core)" >&2
fi

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Huln "sport = :$p" | grep -q . && ! ss -Htln "sport = :$p" | grep -q .; then echo "$p"; return; fi
  done
  echo "stun-bench: no free port" >&2; exit 1
}

wait_udp() { # $1 port
  for _ in $(seq 300); do
    ss -Huln "sport = :$1" | grep -q . && return 0
    sleep 0.1
  done
  echo "stun-bench: server did not open UDP port $1" >&2; return 1
}

load() { # $1 label, $2 port, $3 server pid
  "${pin_load[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/bench/target/classes:$jar" \
    dev.burrow.bench.stun.StunLoadGenerator --target "127.0.0.1:$2" --sockets "$SOCKETS" --outstanding "$OUTSTANDING" \
    --warmup "$WARMUP" --duration "$DURATION" --transport "$TRANSPORT" --label "$1" \
    --server-pid "$3" --clk-tck "$(getconf CLK_TCK)" 2>"$work/load-$1.err" | grep '^RESULT'
}

run_burrow() {
  local port; port=$(free_port)
  "${pin_server[@]}" "$JAVA_HOME/bin/java" ${BURROW_JAVA_OPTS:-} --enable-native-access=ALL-UNNAMED -jar "$jar" stun-server \
    --listen "127.0.0.1:$port" --threads 1 --transport "$TRANSPORT" $BURROW_ARGS >"$work/burrow.log" 2>&1 &
  server_pid=$!
  wait_udp "$port"
  load burrow "$port" "$server_pid"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

run_coturn() {
  local port; port=$(free_port)
  "${pin_server[@]}" turnserver -n --stun-only --listening-ip 127.0.0.1 --listening-port "$port" \
    --no-cli --no-tls --no-dtls --no-software-attribute --pidfile "$work/turnserver.pid" \
    --log-file stdout --simple-log >"$work/coturn.log" 2>&1 &
  server_pid=$!
  wait_udp "$port"
  load coturn "$port" "$server_pid"
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; server_pid=""
}

load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
results="$work/results"
: >"$results"
for round in $(seq "$ROUNDS"); do
  if [ "$ONLY" = burrow ]; then run_burrow >>"$results"; continue; fi
  if [ "$ONLY" = coturn ]; then run_coturn >>"$results"; continue; fi
  if [ $((round % 2)) -eq 1 ]; then run_burrow >>"$results"; run_coturn >>"$results"; else run_coturn >>"$results"; run_burrow >>"$results"; fi
done

echo
echo "STUN Binding requests answered per second (validated), $DURATION s after $WARMUP s warm-up, $SOCKETS sockets x $OUTSTANDING outstanding,"
if [ ${#pin_server[@]} -gt 0 ]; then where="server on CPU $SERVER_CPU, generator on CPU $LOAD_CPU"; else where="unpinned"; fi
echo "$where, transport $TRANSPORT (ours and the generator's), coturn $(dpkg-query -W -f='${Version}' coturn 2>/dev/null || echo '?'), load average before: $load_before"
printf '%-8s %6s %12s %14s %10s %12s %8s %8s %8s\n' server round "answered/s" "per CPU-second" "server CPU" answered lost late invalid
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
       n[v["label"]]++; printf "%-8s %6d %12d %14d %9.1fs %12d %8d %8d %8d\n", v["label"], n[v["label"]], v["rate"], v["per_cpu_second"], v["server_cpu"], v["answered"], v["lost"], v["late"], v["invalid"] }' "$results"
awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } a[v["label"]] += v["answered"]; cpu[v["label"]] += v["server_cpu"]; s[v["label"]] += v["rate"]; c[v["label"]]++ }
     END { if (c["coturn"] && c["burrow"]) {
             printf "mean answered/s:           burrow %d, coturn %d, burrow/coturn = %.2f\n", s["burrow"]/c["burrow"], s["coturn"]/c["coturn"], (s["burrow"]/c["burrow"])/(s["coturn"]/c["coturn"])
             if (cpu["burrow"] > 0 && cpu["coturn"] > 0)
               printf "answered per CPU-second:   burrow %d, coturn %d, burrow/coturn = %.2f\n", a["burrow"]/cpu["burrow"], a["coturn"]/cpu["coturn"], (a["burrow"]/cpu["burrow"])/(a["coturn"]/cpu["coturn"]) } }' "$results"
echo "(answered per CPU-second = validated answers / CPU time the server process used while measured: robust when other load shares the core)"
