#!/usr/bin/env bash
# Forwarded TCP through a Burrow relay circuit (issue 4), side by side in one run with:
#   plain    iperf3/probe straight to the target (the limit)
#   haproxy  a two-hop haproxy chain (client -> haproxy -> haproxy -> target; unencrypted, two processes)
#   ssh      an OpenSSH -L port forward through sshd on loopback (encrypted, one hop)
#   burrow   burrow connect-side agent -> relay -> expose-side agent -> target (TLS to the relay on both legs,
#            end-to-end TLS between the agents inside the circuit; three JVMs)
# Measured per path and round (paths interleaved, order alternating): iperf3 throughput with 1 and 8
# parallel connections, CPU seconds per GiB of each path's processes, time to first byte of a new
# connection (target speaks first), and a 64-byte ping-pong on one connection.
# The path's processes are pinned to TUNNEL_CPU; iperf3, the probes and the targets to LOAD_CPU.
#   bench/tunnel-bench.sh
#   ROUNDS=3 DURATION=10 PATHS="plain burrow ssh" bench/tunnel-bench.sh
#   BURROW_JAVA_OPTS_AGENT="-XX:StartFlightRecording=filename=/tmp/agent-%p.jfr,settings=profile" PATHS=burrow ...
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

# ------------------------------------------------------------------ targets (LOAD_CPU)
bench_start_targets

declare -A port_iperf port_first port_echo path_pids
port_iperf[plain]=$iperf_port; port_first[plain]=$first_port; port_echo[plain]=$echo_port; path_pids[plain]=""

# ------------------------------------------------------------------ haproxy chain (TUNNEL_CPU)
start_haproxy() {
  local h1=() h2=() i
  for i in 0 1 2; do h1+=("$(free_port)"); h2+=("$(free_port)"); done
  local targets=("$iperf_port" "$first_port" "$echo_port")
  for hop in 1 2; do
    {
      printf 'global\n  nbthread 1\n  maxconn 4096\n  pidfile %s/haproxy%s.pid\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 5m\n  timeout server 5m\n' "$work" "$hop"
      for i in 0 1 2; do
        if [ "$hop" = 1 ]; then listen=${h1[$i]}; next=${h2[$i]}; else listen=${h2[$i]}; next=${targets[$i]}; fi
        printf 'listen l%s\n  bind 127.0.0.1:%s\n  server s 127.0.0.1:%s\n' "$i" "$listen" "$next"
      done
    } >"$work/haproxy$hop.cfg"
    "${pin_tunnel[@]}" haproxy -db -f "$work/haproxy$hop.cfg" >"$work/haproxy$hop.log" 2>&1 &
    pids+=($!); path_pids[haproxy]="${path_pids[haproxy]:-} $!"
  done
  for i in 0 1 2; do wait_tcp "${h1[$i]}"; wait_tcp "${h2[$i]}"; done
  port_iperf[haproxy]=${h1[0]}; port_first[haproxy]=${h1[1]}; port_echo[haproxy]=${h1[2]}
}

# ------------------------------------------------------------------ OpenSSH -L (TUNNEL_CPU)
start_ssh() {
  local sport l=() i
  sport=$(free_port)
  for i in 0 1 2; do l+=("$(free_port)"); done
  mkdir -p "$work/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/user_key"
  cp "$work/ssh/user_key.pub" "$work/ssh/authorized_keys"
  chmod 600 "$work/ssh/authorized_keys"
  cat >"$work/ssh/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $sport
HostKey $work/ssh/host_key
AuthorizedKeysFile $work/ssh/authorized_keys
PidFile $work/ssh/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
AllowTcpForwarding yes
EOF
  "${pin_tunnel[@]}" /usr/sbin/sshd -D -e -f "$work/ssh/sshd_config" >"$work/sshd.log" 2>&1 &
  pids+=($!); local sshd=$!
  wait_tcp "$sport"
  "${pin_tunnel[@]}" ssh -N -T -i "$work/ssh/user_key" -p "$sport" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o ExitOnForwardFailure=yes -o LogLevel=ERROR \
    -L "127.0.0.1:${l[0]}:127.0.0.1:$iperf_port" -L "127.0.0.1:${l[1]}:127.0.0.1:$first_port" \
    -L "127.0.0.1:${l[2]}:127.0.0.1:$echo_port" "$(id -un)@127.0.0.1" >"$work/ssh.log" 2>&1 &
  pids+=($!)
  path_pids[ssh]="$sshd $!"
  for i in 0 1 2; do wait_tcp "${l[$i]}"; done
  port_iperf[ssh]=${l[0]}; port_first[ssh]=${l[1]}; port_echo[ssh]=${l[2]}
  ssh_cipher=$(ssh -G -p "$sport" 127.0.0.1 2>/dev/null | sed -n 's/^ciphers //p' | cut -d, -f1)
}

# ------------------------------------------------------------------ Burrow: relay + two agents (TUNNEL_CPU)
start_burrow() {
  local rport admin l=() i
  rport=$(free_port); admin=$(free_port)
  for i in 0 1 2; do l+=("$(free_port)"); done
  # shellcheck disable=SC2086 # BURROW_JAVA_OPTS is a list of JVM flags (e.g. a JFR recording)
  BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" ${BURROW_JAVA_OPTS_RELAY:-} --enable-native-access=ALL-UNNAMED -jar "$jar" relay --dev \
    --listen "127.0.0.1:$rport" --admin-listen "127.0.0.1:$admin" --transport "$TRANSPORT" --drain-grace 0s \
    --set tls.dev-dir="$work/relay-tls" --set limits.ip-connect-rate=1000000 --set limits.ip-connect-burst=1000000 \
    >"$work/relay.log" 2>&1 &
  pids+=($!); local relay=$!
  for _ in $(seq 900); do grep -qs '^development certificate sha256:' "$work/relay.log" && break; sleep 0.1; done
  local fp; fp=$(grep -o '^development certificate sha256:[0-9a-f]*' "$work/relay.log" | head -n1 | cut -d' ' -f3)
  [ -n "$fp" ] || { cat "$work/relay.log" >&2; echo "tunnel-bench: relay did not start" >&2; exit 1; }
  local ida idb
  ida=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/alice" --name alice | sed -n 's/^node ID: *//p')
  idb=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/bob" --name bob | sed -n 's/^node ID: *//p')
  local relay_yaml="relay:
  url: https://127.0.0.1:$rport
  fingerprint: $fp"
  cat >"$work/alice.yaml" <<EOF
$relay_yaml
expose:
  - {name: iperf, target: 127.0.0.1:$iperf_port, allow: [node:$idb]}
  - {name: first, target: 127.0.0.1:$first_port, allow: [node:$idb]}
  - {name: echo, target: 127.0.0.1:$echo_port, allow: [node:$idb]}
EOF
  cat >"$work/bob.yaml" <<EOF
$relay_yaml
peers:
  alice: $ida
forward:
  - {peer: alice, service: iperf, listen: ${l[0]}}
  - {peer: alice, service: first, listen: ${l[1]}}
  - {peer: alice, service: echo, listen: ${l[2]}}
EOF
  local who pid_a pid_b
  for who in alice bob; do
    # shellcheck disable=SC2086
    BURROW_DIRECT=off BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" ${BURROW_JAVA_OPTS_AGENT:-} --enable-native-access=ALL-UNNAMED -jar "$jar" agent \
      --config "$work/$who.yaml" --state "$work/$who" --transport "$TRANSPORT" >"$work/agent-$who.log" 2>&1 &
    pids+=($!)
    if [ "$who" = alice ]; then pid_a=$!; else pid_b=$!; fi
  done
  for i in 0 1 2; do wait_tcp "${l[$i]}"; done
  for who in alice bob; do
    for _ in $(seq 120); do "$JAVA_HOME/bin/java" -jar "$jar" ready -q --state "$work/$who" 2>/dev/null && break; sleep 1; done
  done
  path_pids[burrow]="$relay $pid_a $pid_b"
  burrow_parts="relay=$relay connect_agent=$pid_b expose_agent=$pid_a"
  port_iperf[burrow]=${l[0]}; port_first[burrow]=${l[1]}; port_echo[burrow]=${l[2]}
}

for p in $PATHS; do
  case $p in
    plain) ;;
    haproxy) echo "tunnel-bench: starting the haproxy chain..." >&2; start_haproxy ;;
    ssh) echo "tunnel-bench: starting sshd and ssh -L..." >&2; start_ssh ;;
    burrow) echo "tunnel-bench: starting the relay and two agents..." >&2; start_burrow ;;
    *) echo "tunnel-bench: unknown path $p" >&2; exit 2 ;;
  esac
done

# per-process CPU of the path (Burrow: relay and each agent apart)
cpu_parts() { # $1 path
  local out="" kv
  if [ "$1" = burrow ]; then
    for kv in $burrow_parts; do out="$out ${kv%%=*}=$(cpu_seconds "${kv#*=}")"; done
  fi
  echo "$out"
}

results="$work/results"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
bench_warmup
bench_rounds "$results"

echo
echo "Tunnel benchmarks: path processes on CPU $TUNNEL_CPU, iperf3/probes/targets on CPU $LOAD_CPU; $(nproc) cores;"
echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(iperf3 --version | head -n1 | cut -d' ' -f1-2); $(haproxy -v | head -n1 | cut -d' ' -f1-3);"
echo "$(ssh -V 2>&1), cipher ${ssh_cipher:-?}; Burrow transport $TRANSPORT; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelSummary "$results"
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
