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
#   SESSIONS=off bench/mesh-bench.sh   (a relay circuit per connection instead of relay sessions)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=mesh-bench
. "$root/bench/lib.sh"

PATHS="same cross"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
STREAMS=${STREAMS:-"1 8"}
TTFB_COUNT=${TTFB_COUNT:-100}
WARMUP=${WARMUP:-30}            # unrecorded seconds of transfer per path before round 1 (half 1 conn, half 8)
PING_COUNT=${PING_COUNT:-5000}
TRANSPORT=${TRANSPORT:-epoll}
SESSIONS=${SESSIONS:-on}         # relay sessions (the default users run); off: a relay circuit per connection
TUNNEL_CPU=${TUNNEL_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

bench_build dev/burrow/bench/tunnel/TunnelProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require iperf3 jq taskset ss curl
pin_tunnel=(taskset -c "$TUNNEL_CPU"); pin_load=(taskset -c "$LOAD_CPU")
bench_workdir

# ------------------------------------------------------------------ targets (LOAD_CPU)
bench_start_targets

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
  BURROW_DIRECT=off BURROW_RELAY_SESSIONS="$SESSIONS" BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" agent \
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
bench_warmup
bench_rounds "$results"
mesh_event() { # $1 event: relay A's count
  curl -fsS "http://127.0.0.1:$(cat "$work/admin-a")/metrics" 2>/dev/null | grep "^burrow_relay_mesh_events_total{event=\"$1\"" | awk '{print $NF}'
}
bridged=$(mesh_event circuit_bridged)
pool_taken=$(mesh_event circuit_pool_taken)
pool_empty=$(mesh_event circuit_pool_empty)
pool_fallback=$(mesh_event circuit_pool_fallback)

echo
echo "Mesh benchmarks (same relay vs across two meshed relays): Burrow processes on CPU $TUNNEL_CPU, iperf3/probes/targets on CPU $LOAD_CPU; $(nproc) cores;"
echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); Burrow transport $TRANSPORT; relay sessions $SESSIONS;"
echo "cross-relay circuits bridged by relay A: ${bridged:-?} (on a pooled connection: ${pool_taken:-0}; pool empty, opened one: ${pool_empty:-0}; pool fallbacks: ${pool_fallback:-0}); load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelSummary "$results"
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
