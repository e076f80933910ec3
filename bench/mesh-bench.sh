#!/usr/bin/env bash
# Relay mesh (issue 6): forwarded TCP between two agents on the SAME relay versus on two DIFFERENT
# relays of a mesh (dialer agent -> relay A -> relay B -> listener agent), side by side in one run:
#   same   bob -> relay A -> alice            (alice and bob both on relay A)
#   cross  bob -> relay A -> relay B -> carol (carol on relay B; A and B meshed with a shared key)
# Both paths use the same relay A and the same dialing agent (bob forwards to alice and to carol).
# Measured per path and round (paths interleaved, order alternating): iperf3 throughput with 1 and 8
# parallel connections, CPU seconds per GiB of the path's processes, time to first byte of a new
# connection (target speaks first), and a 64-byte ping-pong on one connection.
# Burrow's processes are pinned to TUNNEL_CPU; iperf3, the probes and the targets to LOAD_CPU.
#   bench/mesh-bench.sh
#   ROUNDS=3 DURATION=10 bench/mesh-bench.sh
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/scripts/find-java.sh"
burrow_find_java
burrow_quiet_maven
cd "$root"

PATHS="same cross"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
STREAMS=${STREAMS:-"1 8"}
TTFB_COUNT=${TTFB_COUNT:-100}
PING_COUNT=${PING_COUNT:-5000}
TRANSPORT=${TRANSPORT:-epoll}
TUNNEL_CPU=${TUNNEL_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

jar="$root/cli/target/burrow.jar"
classes="$root/bench/target/classes"
probe_class="$classes/dev/burrow/bench/tunnel/TunnelProbe.class"
stale() {
  [ -f "$jar" ] && [ -f "$probe_class" ] || return 0
  [ -n "$(find "$root/relay-server/src/main" "$root/relay-client/src/main" "$root/relay-protocol/src/main" "$root/cli/src/main" \
      -name '*.java' -newer "$jar" -print -quit)" ]
}
if [ -z "${NO_BUILD:-}" ] && stale; then
  echo "mesh-bench: building (mvn package -pl bench -am)..." >&2
  mvn -B -q -DskipTests package -pl bench -am >&2
fi
for tool in iperf3 jq taskset ss; do
  command -v "$tool" >/dev/null || { echo "mesh-bench: $tool not installed (scripts/install-test-deps.sh)" >&2; exit 1; }
done
pin_tunnel=(taskset -c "$TUNNEL_CPU"); pin_load=(taskset -c "$LOAD_CPU")

work="$(mktemp -d)"
for _ in $(seq 120); do cp "$jar" "$work/burrow.jar" 2>/dev/null && break; sleep 1; done
[ -f "$work/burrow.jar" ] || { echo "mesh-bench: $jar missing" >&2; exit 1; }
cp -r "$classes" "$work/classes"
jar="$work/burrow.jar"; classes="$work/classes"
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${KEEP_WORK:-}" ]; then echo "mesh-bench: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Htan "sport = :$p" | grep -q . && ! grep -qx "$p" "$work/ports" 2>/dev/null; then echo "$p" >>"$work/ports"; echo "$p"; return; fi
  done
  echo "mesh-bench: no free port" >&2; exit 1
}
wait_tcp() {
  for _ in $(seq 900); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.1; done
  echo "mesh-bench: nothing listens on $1" >&2; return 1
}
java_probe() { "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelProbe "$@"; }
tree_pids() {
  local p c
  for p in "$@"; do
    echo "$p"
    for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
  done
}
cpu_seconds() {
  local total=0 p f
  for p in $(tree_pids "$@"); do
    f=$(sed 's/.*) //' /proc/"$p"/stat 2>/dev/null) || continue
    set -- $f
    total=$((total + ${12} + ${13}))
  done
  echo "$total"
}
tck=$(getconf CLK_TCK)

# ------------------------------------------------------------------ targets (LOAD_CPU)
iperf_port=$(free_port)
"${pin_load[@]}" iperf3 -s -B 127.0.0.1 -p "$iperf_port" >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
"${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelProbe serve >"$work/probe-server.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -qs '^SERVE ' "$work/probe-server.log" && break; sleep 0.1; done
first_port=$(sed -n 's/^SERVE first=\([0-9]*\) .*/\1/p' "$work/probe-server.log")
echo_port=$(sed -n 's/^SERVE .*echo=\([0-9]*\).*/\1/p' "$work/probe-server.log")
wait_tcp "$iperf_port"

# ------------------------------------------------------------------ two meshed relays (TUNNEL_CPU)
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$work/mesh.key"
port_a=$(free_port); port_b=$(free_port)
start_relay() { # $1 name $2 port
  local admin; admin=$(free_port)
  BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" relay --dev \
    --listen "127.0.0.1:$2" --admin-listen "127.0.0.1:$admin" --transport "$TRANSPORT" --drain-grace 0s --relay-id "$1" \
    --set tls.dev-dir="$work/relay-tls" --set limits.ip-connect-rate=1000000 --set limits.ip-connect-burst=1000000 \
    --mesh-peers "127.0.0.1:$port_a,127.0.0.1:$port_b" --mesh-key-file "$work/mesh.key" --set mesh.resolve-interval=1s \
    >"$work/relay-$1.log" 2>&1 &
  pids+=($!)
  echo "$admin" >"$work/admin-$1"
}
start_relay a "$port_a"
relay_a=${pids[-1]}
for _ in $(seq 900); do grep -qs '^development certificate sha256:' "$work/relay-a.log" && break; sleep 0.1; done
start_relay b "$port_b" # same dev-dir: one certificate for both, so agents pin one fingerprint
relay_b=${pids[-1]}
for _ in $(seq 900); do grep -qs '^development certificate sha256:' "$work/relay-b.log" && break; sleep 0.1; done
fp=$(grep -o '^development certificate sha256:[0-9a-f]*' "$work/relay-a.log" | head -n1 | cut -d' ' -f3)
[ -n "$fp" ] || { cat "$work/relay-a.log" >&2; echo "mesh-bench: relay did not start" >&2; exit 1; }
for _ in $(seq 600); do
  curl -fsS "http://127.0.0.1:$(cat "$work/admin-a")/metrics" 2>/dev/null | grep -q '^burrow_relay_mesh_links 1' && break; sleep 0.1
done

# ------------------------------------------------------------------ agents: alice (A), carol (B), bob (A) dials both
ida=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/alice" --name alice | sed -n 's/^node ID: *//p')
idb=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/bob" --name bob | sed -n 's/^node ID: *//p')
idc=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/carol" --name carol | sed -n 's/^node ID: *//p')
relay_yaml() { printf 'relay:\n  url: https://127.0.0.1:%s\n  fingerprint: %s\n' "$1" "$fp"; }
exposes() {
  printf 'expose:\n'
  printf '  - {name: iperf, target: 127.0.0.1:%s, allow: [node:%s]}\n' "$iperf_port" "$idb"
  printf '  - {name: first, target: 127.0.0.1:%s, allow: [node:%s]}\n' "$first_port" "$idb"
  printf '  - {name: echo, target: 127.0.0.1:%s, allow: [node:%s]}\n' "$echo_port" "$idb"
}
(relay_yaml "$port_a"; exposes) >"$work/alice.yaml"
(relay_yaml "$port_b"; exposes) >"$work/carol.yaml"
declare -A port_iperf port_first port_echo
for p in same cross; do port_iperf[$p]=$(free_port); port_first[$p]=$(free_port); port_echo[$p]=$(free_port); done
{
  relay_yaml "$port_a"
  printf 'peers:\n  alice: %s\n  carol: %s\nforward:\n' "$ida" "$idc"
  printf '  - {peer: alice, service: iperf, listen: %s}\n' "${port_iperf[same]}"
  printf '  - {peer: alice, service: first, listen: %s}\n' "${port_first[same]}"
  printf '  - {peer: alice, service: echo, listen: %s}\n' "${port_echo[same]}"
  printf '  - {peer: carol, service: iperf, listen: %s}\n' "${port_iperf[cross]}"
  printf '  - {peer: carol, service: first, listen: %s}\n' "${port_first[cross]}"
  printf '  - {peer: carol, service: echo, listen: %s}\n' "${port_echo[cross]}"
} >"$work/bob.yaml"
declare -A agent_pid
for who in alice carol bob; do
  BURROW_DIRECT=off BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" agent \
    --config "$work/$who.yaml" --state "$work/$who" --transport "$TRANSPORT" >"$work/agent-$who.log" 2>&1 &
  pids+=($!); agent_pid[$who]=$!
done
for p in same cross; do wait_tcp "${port_iperf[$p]}"; done
for who in alice carol bob; do
  for _ in $(seq 120); do "$JAVA_HOME/bin/java" -jar "$jar" ready -q --state "$work/$who" 2>/dev/null && break; sleep 1; done
done
declare -A path_pids
path_pids[same]="$relay_a ${agent_pid[alice]} ${agent_pid[bob]}"
path_pids[cross]="$relay_a $relay_b ${agent_pid[carol]} ${agent_pid[bob]}"

results="$work/results"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
# Warm-up (JIT, TLS sessions): a short unrecorded transfer per path.
for p in $PATHS; do
  "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port_iperf[$p]}" -t 5 -P 8 >/dev/null 2>&1 || echo "mesh-bench: warm-up on $p failed" >&2
  java_probe ttfb --port "${port_first[$p]}" --count 20 --warmup 0 --label "$p" >/dev/null 2>&1 || true
done
for round in $(seq "$ROUNDS"); do
  order=($PATHS)
  if [ $((round % 2)) -eq 0 ]; then order=($(printf '%s\n' $PATHS | tac)); fi
  for p in "${order[@]}"; do
    echo "mesh-bench: round $round, $p..." >&2
    for n in $STREAMS; do
      c0=$(cpu_seconds ${path_pids[$p]})
      if ! "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port_iperf[$p]}" -t "$DURATION" -P "$n" -J >"$work/iperf.json" 2>>"$work/iperf.err"; then
        echo "mesh-bench: iperf3 through $p failed: $(jq -r .error "$work/iperf.json" 2>/dev/null)" >&2; continue
      fi
      c1=$(cpu_seconds ${path_pids[$p]})
      bytes=$(jq '.end.sum_received.bytes' "$work/iperf.json")
      bps=$(jq '.end.sum_received.bits_per_second' "$work/iperf.json")
      awk -v p="$p" -v r="$round" -v n="$n" -v b="$bytes" -v bps="$bps" -v c="$((c1 - c0))" -v t="$tck" \
        'BEGIN { gib = b / 1073741824; printf "RESULT label=%s kind=throughput_%dconn round=%d gbit_per_s=%.3f path_cpu_s=%.2f path_cpu_s_per_gib=%.2f\n", p, n, r, bps / 1e9, c / t, (gib > 0 ? c / t / gib : 0) }' >>"$results"
    done
    java_probe ttfb --port "${port_first[$p]}" --count "$TTFB_COUNT" --warmup 10 --label "$p" 2>>"$work/probe.err" \
      | grep '^RESULT' | sed "s/ kind=ttfb/ kind=ttfb round=$round/" >>"$results" || echo "mesh-bench: ttfb through $p failed" >&2
    java_probe pingpong --port "${port_echo[$p]}" --count "$PING_COUNT" --warmup 1000 --label "$p" 2>>"$work/probe.err" \
      | grep '^RESULT' | sed "s/ kind=pingpong/ kind=pingpong round=$round/" >>"$results" || echo "mesh-bench: ping-pong through $p failed" >&2
  done
done
bridged=$(curl -fsS "http://127.0.0.1:$(cat "$work/admin-a")/metrics" 2>/dev/null | grep '^burrow_relay_mesh_events_total{event="circuit_bridged"' | awk '{print $NF}')

echo
echo "Mesh benchmarks (same relay vs across two meshed relays): Burrow processes on CPU $TUNNEL_CPU, iperf3/probes/targets on CPU $LOAD_CPU; $(nproc) cores;"
echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); Burrow transport $TRANSPORT;"
echo "cross-relay circuits bridged by relay A: ${bridged:-?}; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelSummary "$results"
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
