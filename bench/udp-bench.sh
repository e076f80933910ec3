#!/usr/bin/env bash
# UDP services (issue 18): UDP throughput and loss at increasing rates, side by side in one run:
#   plain          iperf3 -u straight to the server (the limit)
#   socat          a socat UDP relay on loopback (UDP4-LISTEN,fork per source; a TCP socat beside it for
#                  iperf3's control connection)
#   burrow-relay   two burrow agents, the UDP forward carried as sealed keyed datagrams through a relay
#                  (BURROW_DIRECT=off)
#   burrow-direct  the same with direct paths on: QUIC datagrams between the agents (loopback candidates);
#                  datagrams over 1068 bytes take the relay, so LEN defaults to 1024 here
# ssh cannot forward UDP (-L, -R and -D carry TCP only), so there is no ssh column.
# Per path and rate: iperf3 -u -b RATE -l LEN -t DURATION; received Mbit/s, loss and jitter as the
# iperf3 server reports them. iperf3's own control connection is TCP: each Burrow pair exposes the
# iperf3 port both as a TCP and as a UDP service and forwards one local port number for both.
#   bench/udp-bench.sh
#   RATES="10M 100M 300M" DURATION=10 PATHS="plain burrow-relay" bench/udp-bench.sh
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=udp-bench
. "$root/bench/lib.sh"

PATHS=${PATHS:-"plain socat burrow-relay burrow-direct"}
RATES=${RATES:-"10M 50M 100M 200M"}
LEN=${LEN:-1024}                # datagram payload (fits the direct path's 1068 bytes)
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-20}            # unrecorded seconds per path first (the JVMs compile meanwhile)
TRANSPORT=${TRANSPORT:-epoll}
TUNNEL_CPU=${TUNNEL_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

bench_build dev/burrow/bench/tunnel/TunnelProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require iperf3 socat jq taskset ss
pin_tunnel=(taskset -c "$TUNNEL_CPU"); pin_load=(taskset -c "$LOAD_CPU")
bench_workdir

iperf_port=$(free_port)
"${pin_load[@]}" iperf3 -s -B 127.0.0.1 -p "$iperf_port" >"$work/iperf3-server.log" 2>&1 &
pids+=($!)
wait_tcp "$iperf_port"
declare -A port
port[plain]=$iperf_port

start_socat() {
  local p; p=$(free_port)
  "${pin_tunnel[@]}" socat "UDP4-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" "UDP4:127.0.0.1:$iperf_port" >"$work/socat-udp.log" 2>&1 &
  pids+=($!)
  "${pin_tunnel[@]}" socat "TCP4-LISTEN:$p,bind=127.0.0.1,fork,reuseaddr" "TCP4:127.0.0.1:$iperf_port" >"$work/socat-tcp.log" 2>&1 &
  pids+=($!)
  wait_tcp "$p"
  port[socat]=$p
}

# burrow_udp_pair NAME ENV: an exposing agent (iperf3 port as TCP service "ctl" and UDP service "data")
# and a connecting agent forwarding one local port for both.
burrow_udp_pair() {
  local name=$1 envs=$2 idx idc p who
  idx=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/$name-x" --name "$name-x" | sed -n 's/^node ID: *//p')
  idc=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/$name-c" --name "$name-c" | sed -n 's/^node ID: *//p')
  p=$(free_port)
  printf 'relay:\n  url: https://127.0.0.1:%s\n  fingerprint: %s\nexpose:\n' "$relay_port" "$relay_fp" >"$work/$name-x.yaml"
  printf '  - {name: ctl, target: 127.0.0.1:%s, allow: [node:%s]}\n' "$iperf_port" "$idc" >>"$work/$name-x.yaml"
  printf '  - {name: data, protocol: udp, target: 127.0.0.1:%s, allow: [node:%s]}\n' "$iperf_port" "$idc" >>"$work/$name-x.yaml"
  printf 'relay:\n  url: https://127.0.0.1:%s\n  fingerprint: %s\npeers:\n  x: %s\nforward:\n' "$relay_port" "$relay_fp" "$idx" >"$work/$name-c.yaml"
  printf '  - {peer: x, service: ctl, listen: %s}\n  - {peer: x, service: data, protocol: udp, listen: %s}\n' "$p" "$p" >>"$work/$name-c.yaml"
  for who in x c; do
    # shellcheck disable=SC2086 # ENV is a list
    env $envs BURROW_LOG_LEVEL=WARN "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -jar "$jar" agent \
      --config "$work/$name-$who.yaml" --state "$work/$name-$who" --transport "$TRANSPORT" >"$work/agent-$name-$who.log" 2>&1 &
    pids+=($!)
  done
  wait_tcp "$p"
  for who in x c; do
    for _ in $(seq 120); do "$JAVA_HOME/bin/java" -jar "$jar" ready -q --state "$work/$name-$who" 2>/dev/null && break; sleep 1; done
  done
  port[$name]=$p
}

for p in $PATHS; do
  case $p in
    plain) ;;
    socat) echo "udp-bench: starting socat..." >&2; start_socat ;;
    burrow-relay|burrow-direct)
      [ -n "${relay_port:-}" ] || { echo "udp-bench: starting the relay..." >&2; bench_relay; }
      echo "udp-bench: starting the $p agents..." >&2
      if [ "$p" = burrow-relay ]; then burrow_udp_pair "$p" "BURROW_DIRECT=off"; else burrow_udp_pair "$p" "BURROW_DIRECT=on"; fi ;;
    *) echo "udp-bench: unknown path $p" >&2; exit 2 ;;
  esac
done
if [[ " $PATHS " == *" burrow-direct "* ]]; then
  # the first datagrams start hole punching; give the direct path a moment
  "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port[burrow-direct]}" -u -b 1M -l "$LEN" -t 3 >/dev/null 2>&1 || true
  sleep 5
fi

for p in $PATHS; do
  [ "$WARMUP" -gt 0 ] || break
  echo "udp-bench: warming up $p (${WARMUP}s)..." >&2
  "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port[$p]}" -u -b 20M -l "$LEN" -t "$WARMUP" >/dev/null 2>&1 || echo "udp-bench: warm-up on $p failed" >&2
done

printf '%-14s %8s %12s %8s %10s\n' path rate "recv Mbit/s" "loss %" "jitter ms"
for rate in $RATES; do
  for p in $PATHS; do
    if ! "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port[$p]}" -u -b "$rate" -l "$LEN" -t "$DURATION" -J >"$work/iperf.json" 2>>"$work/iperf.err"; then
      echo "udp-bench: iperf3 through $p at $rate failed: $(jq -r .error "$work/iperf.json" 2>/dev/null)" >&2; continue
    fi
    if [ "$(jq -r '.error // empty' "$work/iperf.json")" != "" ] || [ "$(jq -r '.end.sum.lost_percent // empty' "$work/iperf.json")" = "" ]; then
      echo "udp-bench: iperf3 through $p at $rate: $(jq -r '.error // "no UDP summary"' "$work/iperf.json")" >&2; continue
    fi
    jq -r --arg p "$p" --arg r "$rate" \
      '"\($p) \($r) \(.end.sum.bits_per_second * (1 - .end.sum.lost_percent / 100) / 1e6) \(.end.sum.lost_percent) \(.end.sum.jitter_ms)"' \
      "$work/iperf.json" | awk '{ printf "%-14s %8s %12.1f %8.2f %10.3f\n", $1, $2, $3, $4, $5 }'
  done
done

# Which path the datagrams took: sealed packets the exposing agents received per path.
for p in $PATHS; do
  case $p in
    burrow-relay|burrow-direct)
      "$JAVA_HOME/bin/java" -jar "$jar" status -o json --state "$work/$p-x" 2>/dev/null \
        | sed -n '/^{/,$p' | jq -r --arg p "$p" '"udp-bench: \($p): the exposing agent received \(.udp.relayPackets) packets through the relay, \(.udp.directPackets) direct; drops \(.udp.drops)"' >&2 || true ;;
  esac
done
