#!/usr/bin/env bash
# Forwarded TCP through a Burrow relay circuit (issue 4), side by side in one run with:
#   plain    iperf3/probe straight to the target (the limit)
#   haproxy  a two-hop haproxy chain (client -> haproxy -> haproxy -> target; unencrypted, two processes)
#   ssh      an OpenSSH -L port forward through sshd on loopback (encrypted, one hop)
#   ssh-aes  the same ssh -L with -c aes128-gcm@openssh.com (OpenSSH's fastest cipher here)
#   burrow   burrow connect-side agent -> relay -> expose-side agent -> target (TLS to the relay on both legs,
#            end-to-end TLS between the agents inside the circuit; three JVMs)
#   burrow-session  the same as burrow with relay sessions on (the default): every connection after
#            the first is an HTTP/2 stream on one session circuit per peer (TLS once), docs/protocol.md
#            "Relay sessions"; the `burrow` rows are per-stream circuits (BURROW_RELAY_SESSIONS=off)
#   burrow-direct  the same agents with direct paths on (relay with --stun-listen): streams take the direct
#            path once the agents verified it: the direct TCP session where TCP connects (here it does),
#            else QUIC; VARIANT_quic="BURROW_DIRECT_TCP=off" with burrow-direct+quic measures QUIC alone
#            (the script waits for `burrow status` to say "direct";
#            its rows are marked "DIRECT PATH NOT UP" otherwise). BURROW_DIRECT_MEASURE=off: every stream direct,
#            even where the agent measured the relay faster (relay_cpu_s_per_gib near 0 confirms a row was direct)
#   burrow-direct-base  the same as burrow-direct with the agents of another build, BASE_JAR=path/to/burrow.jar
#            (before/after comparisons side by side under the same load)
#   burrow-direct+NAME  burrow-direct with the agents' extra environment VARIANT_NAME (space-separated VAR=value,
#            e.g. VARIANT_bbr="BURROW_QUIC_CC=bbr"): QUIC tuning experiments side by side (docs/benchmarks.md)
# Measured per path and round (paths interleaved, order alternating): iperf3 throughput with 1 and 8
# parallel connections, CPU seconds per GiB of each path's processes, time to first byte of a new
# connection (target speaks first), and a 64-byte ping-pong on one connection.
# The path's processes are pinned to TUNNEL_CPU; iperf3, the probes and the targets to LOAD_CPU.
#   bench/tunnel-bench.sh
#   ROUNDS=3 DURATION=10 PATHS="plain burrow ssh" bench/tunnel-bench.sh
#   ROUNDS=2 DURATION=5 WARMUP=10 PATHS="burrow burrow-direct ssh-aes" bench/tunnel-bench.sh   (direct vs relayed)
#   BASE_JAR=/tmp/old-burrow.jar PATHS="burrow-direct-base burrow-direct" ... bench/tunnel-bench.sh
#   BURROW_JAVA_OPTS_AGENT="-XX:StartFlightRecording=filename=/tmp/agent-%p.jfr,settings=profile" PATHS=burrow ...
#   VETH=1 PATHS="burrow-session burrow-direct ssh-aes" ...   (root: the client side in a network namespace
#            behind a veth pair, MTU 1500: connect-side agents, ssh -L and the clients there; relay, sshd,
#            exposing agents and targets here; not for plain and haproxy)
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=tunnel-bench
. "$root/bench/lib.sh"

PATHS=${PATHS:-"plain haproxy ssh burrow"}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}        # iperf3 seconds per measurement
STREAMS=${STREAMS:-"1 8"}       # parallel connections
TTFB_COUNT=${TTFB_COUNT:-100}
WARMUP=${WARMUP:-30}            # unrecorded seconds of transfer per path before round 1 (half 1 conn, half 8)
PING_COUNT=${PING_COUNT:-5000}
TRANSPORT=${TRANSPORT:-epoll}   # Burrow's Netty transport (relay and agents)
TUNNEL_CPU=${TUNNEL_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

bench_build dev/burrow/bench/tunnel/TunnelProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require iperf3 haproxy ssh /usr/sbin/sshd ssh-keygen jq taskset ss
pin_tunnel=(taskset -c "$TUNNEL_CPU"); pin_load=(taskset -c "$LOAD_CPU")
bench_workdir
if [ -n "${VETH:-}" ]; then
  case " $PATHS " in *" plain "*|*" haproxy "*) bench_fail "VETH=1 measures the tunnels only (not plain or haproxy)";; esac
  bench_veth
fi

# ------------------------------------------------------------------ targets (LOAD_CPU)
bench_start_targets

declare -A port_iperf port_first port_echo path_pids
port_iperf[plain]=$iperf_port; port_first[plain]=$first_port; port_echo[plain]=$echo_port; path_pids[plain]=""

# ------------------------------------------------------------------ the paths (TUNNEL_CPU; starters in lib.sh)
targets=("$iperf_port" "$first_port" "$echo_port")
set_ports() { port_iperf[$1]=${fwd_ports[0]}; port_first[$1]=${fwd_ports[1]}; port_echo[$1]=${fwd_ports[2]}; }

# haproxy chain: client -> haproxy1 -> haproxy2 -> target
start_haproxy() {
  local h1=() h2=() i
  for i in 0 1 2; do h1+=("$(free_port)"); h2+=("$(free_port)"); done
  bench_haproxy haproxy1 "${h1[0]}:${h2[0]}" "${h1[1]}:${h2[1]}" "${h1[2]}:${h2[2]}"; path_pids[haproxy]=$haproxy_pid
  bench_haproxy haproxy2 "${h2[0]}:$iperf_port" "${h2[1]}:$first_port" "${h2[2]}:$echo_port"; path_pids[haproxy]="${path_pids[haproxy]} $haproxy_pid"
  fwd_ports=("${h1[@]}"); set_ports haproxy
}

# OpenSSH -L through sshd on loopback, OpenSSH's default cipher
start_ssh() {
  [ -n "${sshd_pid:-}" ] || bench_sshd
  bench_ssh_forward ssh "$sshd_port" "" "${targets[@]}"
  path_pids[ssh]="$sshd_pid $ssh_pid"; set_ports ssh
  ssh_cipher=$(ssh -G -p "$sshd_port" 127.0.0.1 2>/dev/null | sed -n 's/^ciphers //p' | cut -d, -f1)
}

start_ssh_aes() {
  [ -n "${sshd_pid:-}" ] || bench_sshd
  bench_ssh_forward ssh-aes "$sshd_port" aes128-gcm@openssh.com "${targets[@]}"
  path_pids[ssh-aes]="$sshd_pid $ssh_pid"; set_ports ssh-aes
}

# Burrow: relay + two agents; `burrow` relay circuits only, `burrow-direct` with direct paths on (one relay
# for both, with a STUN listener so the agents learn their candidates)
declare -A burrow_parts
start_burrow() { # $1 path name
  if [ -z "${relay_pid:-}" ]; then
    stun_port=$(free_port)
    bench_relay --stun-listen "$host_addr:$stun_port"
  fi
  if [ "$1" = burrow-direct ]; then
    bench_burrow_pair d "$relay_port" "$relay_port" "BURROW_STUN_SERVERS=$host_addr:$stun_port BURROW_DIRECT_MEASURE=off" "${targets[@]}"
  elif [[ "$1" == burrow-direct+* ]]; then
    local vname="VARIANT_${1#burrow-direct+}"
    [ -n "${!vname:-}" ] || bench_fail "$1 needs $vname=\"VAR=value ...\""
    bench_burrow_pair "dv-${1#burrow-direct+}" "$relay_port" "$relay_port" "BURROW_STUN_SERVERS=$host_addr:$stun_port BURROW_DIRECT_MEASURE=off ${!vname}" "${targets[@]}"
  elif [ "$1" = burrow-direct-base ]; then
    [ -f "${BASE_JAR:-}" ] || bench_fail "burrow-direct-base needs BASE_JAR=path/to/burrow.jar"
    cp "$BASE_JAR" "$work/base.jar"
    pair_jar="$work/base.jar" bench_burrow_pair db "$relay_port" "$relay_port" "BURROW_STUN_SERVERS=$host_addr:$stun_port BURROW_DIRECT_MEASURE=off" "${targets[@]}"
  elif [ "$1" = burrow-session ]; then
    bench_burrow_pair s "$relay_port" "$relay_port" "BURROW_DIRECT=off BURROW_RELAY_SESSIONS=on" "${targets[@]}"
  else
    bench_burrow_pair b "$relay_port" "$relay_port" "BURROW_DIRECT=off BURROW_RELAY_SESSIONS=off" "${targets[@]}"
  fi
  path_pids[$1]="$relay_pid $expose_pid $connect_pid"
  burrow_parts[$1]="relay=$relay_pid connect_agent=$connect_pid expose_agent=$expose_pid"
  set_ports "$1"
}

for p in $PATHS; do
  case $p in
    plain) ;;
    haproxy) echo "tunnel-bench: starting the haproxy chain..." >&2; start_haproxy ;;
    ssh) echo "tunnel-bench: starting sshd and ssh -L..." >&2; start_ssh ;;
    ssh-aes) echo "tunnel-bench: starting sshd and ssh -L -c aes128-gcm..." >&2; start_ssh_aes ;;
    burrow|burrow-session|burrow-direct|burrow-direct-base|burrow-direct+*) echo "tunnel-bench: starting the relay and two agents ($p)..." >&2; start_burrow "$p" ;;
    *) echo "tunnel-bench: unknown path $p" >&2; exit 2 ;;
  esac
done

# per-process CPU of the path (Burrow: relay and each agent apart)
cpu_parts() { # $1 path
  local out="" kv
  if [ -n "${burrow_parts[$1]:-}" ]; then
    for kv in ${burrow_parts[$1]}; do out="$out ${kv%%=*}=$(cpu_seconds "${kv#*=}")"; done
  fi
  echo "$out"
}

# the direct paths: wait until the connect-side agent reports the peer's path as direct (the PATH column of
# its PEER table; streams go direct from then on)
peer_path_direct() { # $1 state dir
  "$JAVA_HOME/bin/java" -jar "$jar" status --state "$1" 2>/dev/null \
    | awk '/^PEER /{s=1; next} /^$/{s=0} s && $3 == "direct" {f=1} END {exit !f}'
}
direct_note=""
direct_states=()
for p in $PATHS; do
  case $p in
    burrow-direct) st="$work/d-c" ;;
    burrow-direct-base) st="$work/db-c" ;;
    burrow-direct+*) st="$work/dv-${p#burrow-direct+}-c" ;;
    *) continue ;;
  esac
  direct_states+=("$st")
  for _ in $(seq 30); do
    peer_path_direct "$st" && break
    java_probe ttfb --port "${port_first[$p]}" --count 1 --warmup 0 --label warm >/dev/null 2>&1 || true
    sleep 1
  done
  if peer_path_direct "$st"; then
    direct_note="$direct_note$p: direct path verified (burrow status). "
  else
    direct_note="$direct_note$p: DIRECT PATH NOT UP after 30 s, its rows are relay circuits with direct paths enabled. "
    echo "tunnel-bench: $p: direct path not up" >&2
  fi
done

results="$work/results"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_warmup
bench_rounds "$results"

echo
echo "Tunnel benchmarks: path processes on CPU $TUNNEL_CPU, iperf3/probes/targets on CPU $LOAD_CPU; $(nproc) cores;"
echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); $(haproxy -v | head -n1 | cut -d' ' -f1-3);"
echo "$(ssh -V 2>&1), cipher ${ssh_cipher:-?}; Burrow transport $TRANSPORT; ${veth_ns:+client side across a veth pair (MTU 1500); }load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelSummary "$results"
if [ -n "$direct_note" ]; then
  echo "$direct_note"
  # which path the forwarded connections took (FORWARD table of the connect-side agents: PATH, TOTAL)
  for st in "${direct_states[@]}"; do
    "$JAVA_HOME/bin/java" -jar "$jar" status --state "$st" 2>/dev/null \
      | awk -v n="${st##*/}" '/^FORWARD /{s=1; next} /^$/{s=0} s {printf "%s forward %s: path %s, %s connections\n", n, $2, $3, $5}'
  done
fi
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
