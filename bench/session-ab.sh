#!/usr/bin/env bash
# A/B of a change to the relay-session path: two builds' agent pairs side by side through one relay
# (relay sessions on, direct paths off), measured in alternating order in the same minutes:
#   base  the agents of BASE_JAR (the build to compare with)
#   new   the agents of this checkout's jar
# Per round and pair: time to first byte of new connections one at a time (server-first target),
# HTTP connections per second at saturation with CPU ms per connection, and iperf3 bulk with 1 and 8
# streams with CPU s per GiB; CPU is the relay's plus the pair's two agents'.
#   BASE_JAR=/tmp/base.jar bench/session-ab.sh                   path processes on CPU 1, probes on CPU 0
#   PIN=off BASE_JAR=/tmp/base.jar ROUNDS=3 bench/session-ab.sh  unpinned, as users run it
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=session-ab
. "$root/bench/lib.sh"

: "${BASE_JAR:?set BASE_JAR to the burrow.jar of the build to compare with}"
ROUNDS=${ROUNDS:-3}
COUNT=${COUNT:-300}             # sequential new connections per TTFB measurement
DURATION=${DURATION:-5}         # iperf3 seconds per measurement
RATE_SECONDS=${RATE_SECONDS:-5}
RATE_WORKERS=${RATE_WORKERS:-16}
WARMUP=${WARMUP:-20}            # unrecorded seconds of bulk and of connections per pair (the JIT needs them)
TRANSPORT=${TRANSPORT:-epoll}
if [ "${PIN:-on}" = off ]; then pin_tunnel=(); pin_load=(); else pin_tunnel=(taskset -c 1); pin_load=(taskset -c 0); fi

bench_build dev/burrow/bench/tunnel/SetupProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require iperf3 jq taskset ss
[ -f "$BASE_JAR" ] || bench_fail "BASE_JAR $BASE_JAR missing"
bench_workdir
cp "$BASE_JAR" "$work/base.jar"
bench_start_targets
bench_relay

declare -A p_first p_http p_iperf p_pids
for v in base new; do
  if [ "$v" = base ]; then pair_jar="$work/base.jar"; else unset pair_jar; fi
  bench_burrow_pair "$v" "$relay_port" "$relay_port" "BURROW_DIRECT=off BURROW_RELAY_SESSIONS=on" \
    "$first_port" "$http_port" "$iperf_port"
  p_first[$v]=${fwd_ports[0]}; p_http[$v]=${fwd_ports[1]}; p_iperf[$v]=${fwd_ports[2]}
  p_pids[$v]="$relay_pid $expose_pid $connect_pid"
done
unset pair_jar
probe() { "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.SetupProbe "$@"; }

echo "$bench_name: warming up (${WARMUP}s of bulk and of connections per pair)..." >&2
for v in base new; do
  "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${p_iperf[$v]}" -t "$WARMUP" -P 4 >/dev/null
  probe rate --port "${p_http[$v]}" --workers "$RATE_WORKERS" --seconds "$WARMUP" --label warm >/dev/null
done

echo "# session A/B: base=$BASE_JAR new=$jar; pin=${PIN:-on}; $(nproc) cores; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "$ROUNDS"); do
  order="base new"; [ $((round % 2)) -eq 0 ] && order="new base"
  for v in $order; do
    probe ttfb --port "${p_first[$v]}" --mode first --count "$COUNT" --warmup 20 --label "$v" | grep '^RESULT'
    c0=$(cpu_seconds ${p_pids[$v]})
    line=$(probe rate --port "${p_http[$v]}" --workers "$RATE_WORKERS" --seconds "$RATE_SECONDS" --label "$v" | grep '^RESULT')
    c1=$(cpu_seconds ${p_pids[$v]})
    conns=$(sed -n 's/.* conns=\([0-9]*\).*/\1/p' <<<"$line")
    echo "$line cpu_ms_per_conn=$(bench_cpu_ms_per $((c1 - c0)) "$conns")"
    for n in 1 8; do
      # shellcheck disable=SC2086 # a list of PIDs
      out=$(bench_bulk "${p_iperf[$v]}" "$n" ${p_pids[$v]}) || bench_fail "iperf3 through $v failed"
      echo "RESULT label=$v kind=bulk streams=$n gbit_s=${out% *} cpu_s_per_gib=${out#* }"
    done
  done
done
