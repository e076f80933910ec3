#!/usr/bin/env bash
# Connection setup and bulk of forwarded TCP at several round-trip times (issue 15), side by side in one run:
#   plain          probe/iperf3 straight to the target
#   haproxy        client -> haproxy -> [link] -> haproxy -> target (unencrypted, two processes)
#   ssh-chacha     client -> ssh -L -> [link] -> sshd -> target, chacha20-poly1305@openssh.com
#   ssh-aes        the same with aes128-gcm@openssh.com
#   burrow         client -> connect agent -> [link] -> relay -> [link] -> expose agent -> target (a relay circuit
#                  and an end-to-end TLS handshake per connection: BURROW_DIRECT=off BURROW_RELAY_SESSIONS=off)
#   burrow-session as burrow with relay sessions on (the default): a new connection is an HTTP/2
#                  stream on the peer's one session circuit (end-to-end TLS once per peer), docs/protocol.md
#   burrow-direct  the same agents' setup with direct paths on (relay with --stun-listen); streams take the
#                  direct QUIC path once the agents verified it (the script waits for `burrow status` to say
#                  "direct" and reports "direct path not up" otherwise). RTT 0 only: the delay links are TCP,
#                  the direct path is UDP, so it is measured on loopback only.
# [link] is a DelayProxy (bench/src/.../tunnel/DelayProxy.java): a userspace TCP hop that delays every byte by a
# one-way delay D in each direction, in order, with bounded buffering and half-close, and emulates the TCP
# handshake (the target sees the connection 3·D after the client's connect, as on a real link). There is
# no netem here. The end-to-end RTT R is the round trip between the two ends of the tunnel:
#   plain, haproxy, ssh: one link between client side and server side, D = R/2;
#   burrow: a link on each agent-relay leg, D = R/4 (dialing agent -> relay -> exposing agent = 2 links).
# The issue's "25 ms one-way per leg" is burrow at R = 100 ms, i.e. plain/ssh with 50 ms one-way.
# At R = 0 there is no link at all (pure loopback): every path has a second set of processes (ssh clients,
# haproxy listeners, agent pair) that connects straight, used for R = 0, rate and bulk.
#
# Per RTT and path: time to first byte (TTFB) of COUNT new connections one at a time, for a server-first target
# (it writes one byte on accept) and a client-first HTTP/1.0 request (answer checked), and of BURST new
# connections at once; p50/p99 in ms and as multiples of R; CPU ms per connection = CPU time of all the path's
# processes (/proc, children included, not the links or the targets) over the sequential HTTP connections,
# divided by their number. At each RATE_RTTS: connections per second at saturation (RATE_WORKERS workers,
# RATE_SECONDS, every HTTP answer checked) and its CPU ms per connection. At each BULK_RTTS: iperf3 Gbit/s with
# each STREAMS count for DURATION s and CPU s/GiB of the path's processes.
# Output: markdown tables on stdout (paste into docs/benchmarks.md); progress on stderr.
#   bench/setup-bench.sh                                         all paths, RTTS="0 20 50 100" (about 8 minutes idle)
#   RTTS="0 100" COUNT=20 PATHS="plain ssh-aes burrow" bench/setup-bench.sh
#   RTTS=0 COUNT=10 BURST=10 DURATION=1 RATE_SECONDS=1 WARMUP=1 bench/setup-bench.sh     smoke run
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=setup-bench
. "$root/bench/lib.sh"

PATHS=${PATHS:-"plain haproxy ssh-chacha ssh-aes burrow burrow-session burrow-direct"}
RTTS=${RTTS:-"0 20 50 100"}     # end-to-end round-trip times in ms
COUNT=${COUNT:-50}              # sequential new connections per TTFB measurement
BURST=${BURST:-100}             # concurrent new connections per burst measurement
RATE_RTTS=${RATE_RTTS:-0}       # RTTs at which connections/s at saturation are measured
RATE_WORKERS=${RATE_WORKERS:-16}
RATE_SECONDS=${RATE_SECONDS:-5}
BULK_RTTS=${BULK_RTTS:-0}       # RTTs at which iperf3 bulk is measured
STREAMS=${STREAMS:-"1 8"}
DURATION=${DURATION:-5}         # iperf3 seconds per measurement
WARMUP=${WARMUP:-10}            # unrecorded iperf3 seconds and as many of connections at saturation per path (plus 300 one at a time) before measuring
TRANSPORT=${TRANSPORT:-epoll}   # Burrow's Netty transport (relay and agents)
TUNNEL_CPU=${TUNNEL_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

bench_build dev/burrow/bench/tunnel/SetupProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require iperf3 haproxy ssh /usr/sbin/sshd ssh-keygen jq taskset ss
pin_tunnel=(taskset -c "$TUNNEL_CPU"); pin_load=(taskset -c "$LOAD_CPU")
bench_workdir
has() { case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac; }
delayed=0
for r in $RTTS; do if [ "$r" != 0 ]; then delayed=1; fi; done

# ------------------------------------------------------------------ targets and delay links (LOAD_CPU)
bench_start_targets
targets=("$iperf_port" "$first_port" "$http_port")
declare -A port path_pids path_pids_dl   # port[PATH:SET:TARGET], SET = lo (straight) | dl (through the links), TARGET = iperf|first|http
set_ports() { port[$1:$2:iperf]=${fwd_ports[0]}; port[$1:$2:first]=${fwd_ports[1]}; port[$1:$2:http]=${fwd_ports[2]}; }

# Two DelayProxy JVMs: link2 (D = R/2) for the one-link paths, link4 (D = R/4) for Burrow's two legs.
# Their maps are added by the path starters; they start after the paths know their ports.
link2_maps=(); link4_maps=()
link() { # $1 link2|link4, $2 target port: sets link_port, the link's listen port for it
  link_port=$(free_port)
  if [ "$1" = link2 ]; then link2_maps+=("$link_port:$2"); else link4_maps+=("$link_port:$2"); fi
}
start_link() { # $1 name, rest maps
  local name=$1; shift
  [ $# -gt 0 ] || return 0
  local ctl; ctl=$(free_port)
  "${pin_load[@]}" "$JAVA_HOME/bin/java" -Xmx256m -cp "$classes:$jar" dev.burrow.bench.tunnel.DelayProxy --delay-ms 0 --control "$ctl" "$@" \
    >"$work/$name.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -qs '^READY' "$work/$name.log" && break; sleep 0.1; done
  grep -qs '^READY' "$work/$name.log" || bench_fail "$name did not start: $(cat "$work/$name.log")"
  eval "${name}_ctl=$ctl"
}
set_delay() { # $1 name, $2 one-way ms
  local ctl_var="${1}_ctl" reply
  [ -n "${!ctl_var:-}" ] || return 0
  exec 3<>"/dev/tcp/127.0.0.1/${!ctl_var}"
  echo "delay $2" >&3
  read -r reply <&3
  exec 3>&-
  [ "$reply" = OK ] || bench_fail "$1: $reply"
}

# ------------------------------------------------------------------ paths (TUNNEL_CPU; starters in lib.sh)
start_plain() {
  fwd_ports=("${targets[@]}"); set_ports plain lo
  if [ "$delayed" = 1 ]; then fwd_ports=(); for t in "${targets[@]}"; do link link2 "$t"; fwd_ports+=("$link_port"); done; set_ports plain dl; fi
  path_pids[plain]=""
}
start_haproxy() { # haproxy1 listens twice per target: straight to haproxy2, and through link2
  local h1=() h1d=() h2=() maps1=() maps2=() i
  for i in 0 1 2; do h1+=("$(free_port)"); h2+=("$(free_port)"); maps2+=("${h2[$i]}:${targets[$i]}"); maps1+=("${h1[$i]}:${h2[$i]}"); done
  if [ "$delayed" = 1 ]; then for i in 0 1 2; do h1d+=("$(free_port)"); link link2 "${h2[$i]}"; maps1+=("${h1d[$i]}:$link_port"); done; fi
  bench_haproxy haproxy2 "${maps2[@]}"; local p2=$haproxy_pid
  # haproxy1's delayed listeners connect to the link, which starts later: haproxy connects per connection
  bench_haproxy haproxy1 "${maps1[@]}"
  path_pids[haproxy]="$haproxy_pid $p2"
  fwd_ports=("${h1[@]}"); set_ports haproxy lo
  if [ "$delayed" = 1 ]; then fwd_ports=("${h1d[@]}"); set_ports haproxy dl; fi
}
ssh_link=""
start_ssh() { # $1 path name, $2 cipher
  [ -n "${sshd_pid:-}" ] || bench_sshd
  if [ "$delayed" = 1 ] && [ -z "$ssh_link" ]; then link link2 "$sshd_port"; ssh_link=$link_port; fi
  bench_ssh_forward "$1-lo" "$sshd_port" "$2" "${targets[@]}"
  path_pids[$1]="$sshd_pid $ssh_pid"; set_ports "$1" lo
  if [ "$delayed" = 1 ]; then
    ssh_later+=("$1:$2") # through the link: started once the link runs
  fi
}
ssh_later=()
start_burrow() { # $1 path name
  if [ -z "${relay_pid:-}" ]; then
    stun_port=$(free_port)
    bench_relay --stun-listen "127.0.0.1:$stun_port"
  fi
  local envs="BURROW_DIRECT=off BURROW_RELAY_SESSIONS=off"
  case $1 in
    burrow-direct) envs="BURROW_STUN_SERVERS=127.0.0.1:$stun_port" ;;
    burrow-session) envs="BURROW_DIRECT=off BURROW_RELAY_SESSIONS=on" ;;
  esac
  bench_burrow_pair "$1-lo" "$relay_port" "$relay_port" "$envs" "${targets[@]}"
  path_pids[$1]="$relay_pid $expose_pid $connect_pid"; set_ports "$1" lo
  if [ "$1" != burrow-direct ] && [ "$delayed" = 1 ]; then
    link link4 "$relay_port"; local xl=$link_port; link link4 "$relay_port"
    burrow_later+=("$1|$envs|$xl|$link_port") # the agents behind the links start once the links run
  fi
}
burrow_later=()

for p in $PATHS; do
  echo "$bench_name: starting $p..." >&2
  case $p in
    plain) start_plain ;;
    haproxy) start_haproxy ;;
    ssh-chacha) start_ssh ssh-chacha chacha20-poly1305@openssh.com ;;
    ssh-aes) start_ssh ssh-aes aes128-gcm@openssh.com ;;
    burrow|burrow-session|burrow-direct) start_burrow "$p" ;;
    *) bench_fail "unknown path $p" ;;
  esac
done
echo "$bench_name: starting the delay links..." >&2
start_link link2 "${link2_maps[@]}"
start_link link4 "${link4_maps[@]}"
for s in "${ssh_later[@]}"; do
  bench_ssh_forward "${s%%:*}-dl" "$ssh_link" "${s#*:}" "${targets[@]}"
  path_pids_dl[${s%%:*}]="$sshd_pid $ssh_pid"; set_ports "${s%%:*}" dl
done
for b in "${burrow_later[@]}"; do
  IFS='|' read -r bp benvs bxl bcl <<<"$b"
  echo "$bench_name: starting the $bp agents behind the links..." >&2
  bench_burrow_pair "$bp-dl" "$bxl" "$bcl" "$benvs" "${targets[@]}"
  path_pids_dl[$bp]="$relay_pid $expose_pid $connect_pid"; set_ports "$bp" dl
done

probe() { "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.SetupProbe "$@" 2>>"$work/probe.err"; }
pids_of() { if [ "$2" = dl ]; then echo "${path_pids_dl[$1]:-${path_pids[$1]}}"; else echo "${path_pids[$1]}"; fi; }

# ------------------------------------------------------------------ warm-up (links at 0 ms)
for p in $PATHS; do
  for set in lo dl; do
    [ -n "${port[$p:$set:http]:-}" ] || continue
    echo "$bench_name: warming up $p ($set)..." >&2
    if [ "$set" = lo ] && [ "$WARMUP" -gt 0 ]; then
      "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port[$p:$set:iperf]}" -t "$WARMUP" -P 2 >/dev/null 2>&1 || echo "$bench_name: warm-up bulk on $p failed" >&2
      # new connections at saturation too: the JIT compiles the per-connection code only after
      # thousands of connections (300 one at a time left it partly interpreted: about 3 ms of CPU per
      # connection through a session against 0.4-0.7 ms once compiled, docs/benchmarks.md)
      probe rate --port "${port[$p:$set:http]}" --workers "$RATE_WORKERS" --seconds "$WARMUP" --label "$p" >/dev/null || true
    fi
    probe ttfb --port "${port[$p:$set:http]}" --mode http --count 200 --label "$p" >/dev/null || true
    probe ttfb --port "${port[$p:$set:first]}" --mode first --count 100 --label "$p" >/dev/null || true
  done
done
direct_note=""
# The dialing agent's peer row says "direct" once its direct path is verified (status JSON: peers[].path).
direct_up() {
  "$JAVA_HOME/bin/java" -jar "$jar" status --state "$work/burrow-direct-lo-c" -o json 2>/dev/null \
    | grep -q '"path" *: *"direct"'
}
if has "$PATHS" burrow-direct; then
  for _ in $(seq 30); do
    direct_up && break
    probe ttfb --port "${port[burrow-direct:lo:first]}" --mode first --count 1 >/dev/null || true
    sleep 1
  done
  if direct_up; then
    direct_note="burrow-direct: direct path verified (burrow status)"
  else
    direct_note="burrow-direct: DIRECT PATH NOT UP after 30 s, its rows are relay circuits with direct paths enabled"
    echo "$bench_name: $direct_note" >&2
  fi
fi

# ------------------------------------------------------------------ measurements
results="$work/results"
: >"$results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
record() { sed "s/^RESULT /RESULT rtt=$1 /" | grep '^RESULT' >>"$results" || true; }
for r in $RTTS; do
  set_delay link2 "$(awk -v r="$r" 'BEGIN { print r / 2 }')"
  set_delay link4 "$(awk -v r="$r" 'BEGIN { print r / 4 }')"
  if [ "$r" = 0 ]; then set=lo; warm=10; else set=dl; warm=2; fi
  for p in $PATHS; do
    [ -n "${port[$p:$set:http]:-}" ] || continue
    echo "$bench_name: RTT $r ms, $p..." >&2
    pp=$(pids_of "$p" "$set")
    c0=$(cpu_seconds $pp)
    probe ttfb --port "${port[$p:$set:http]}" --mode http --count "$COUNT" --warmup "$warm" --rtt-ms "$r" --label "$p" | record "$r" || true
    c1=$(cpu_seconds $pp)
    echo "RESULT rtt=$r label=$p kind=cpu conns=$((COUNT + warm)) cpu_ms_per_conn=$(bench_cpu_ms_per $((c1 - c0)) $((COUNT + warm)))" >>"$results"
    probe ttfb --port "${port[$p:$set:first]}" --mode first --count "$COUNT" --warmup "$warm" --rtt-ms "$r" --label "$p" | record "$r" || true
    probe burst --port "${port[$p:$set:first]}" --mode first --count "$BURST" --rtt-ms "$r" --label "$p" | record "$r" || true
    probe burst --port "${port[$p:$set:http]}" --mode http --count "$BURST" --rtt-ms "$r" --label "$p" | record "$r" || true
    if has "$RATE_RTTS" "$r"; then
      c0=$(cpu_seconds $pp)
      line=$(probe rate --port "${port[$p:$set:http]}" --workers "$RATE_WORKERS" --seconds "$RATE_SECONDS" --label "$p" | grep '^RESULT' || true)
      c1=$(cpu_seconds $pp)
      n=$(echo "$line" | sed -n 's/.* conns=\([0-9]*\).*/\1/p')
      [ -n "$line" ] && echo "$line cpu_ms_per_conn=$(bench_cpu_ms_per $((c1 - c0)) "${n:-0}")" | record "$r"
    fi
    if has "$BULK_RTTS" "$r"; then
      for n in $STREAMS; do
        # shellcheck disable=SC2086 # pp is a list of PIDs
        if out=$(bench_bulk "${port[$p:$set:iperf]}" "$n" $pp); then
          echo "RESULT rtt=$r label=$p kind=bulk_$n gbit_per_s=${out% *} cpu_s_per_gib=${out#* }" >>"$results"
        else
          echo "$bench_name: iperf3 through $p failed: $(jq -r .error "$work/iperf.json" 2>/dev/null)" >&2
        fi
      done
    fi
  done
done

# ------------------------------------------------------------------ tables
get() { # rtt path kind key
  awk -v r="$1" -v p="$2" -v k="$3" -v key="$4" '
    { for (i = 2; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
      if (f["rtt"] == r && f["label"] == p && f["kind"] == k) { found = f[key] }
      delete f }
    END { print (found == "" ? "-" : found) }' "$results"
}
pair() { echo "$(get "$1" "$2" "$3" "$4") / $(get "$1" "$2" "$3" "$5")"; }
errs() { local e; e=$(get "$1" "$2" "$3" errors); if [ "$e" != 0 ] && [ "$e" != - ]; then echo " ($e failed)"; fi; }
cell() { # rtt path kind: "p50 / p99" ms, then the RTT multiples when RTT > 0, then failures
  local c; c=$(pair "$1" "$2" "$3" p50_ms p99_ms)
  if [ "$1" != 0 ]; then c="$c ($(pair "$1" "$2" "$3" p50_rtt p99_rtt) RTT)"; fi
  echo "$c$(errs "$1" "$2" "$3")"
}

echo
echo "Connection setup: path processes on CPU $TUNNEL_CPU; probes, targets, iperf3 and the delay links on CPU $LOAD_CPU; $(nproc) cores;"
echo "$("$JAVA_HOME/bin/java" -version 2>&1 | head -n1); $(ssh -V 2>&1); $(haproxy -v | head -n1 | cut -d' ' -f1-3); $(iperf3 --version | head -n1 | cut -d' ' -f1-2);"
echo "Burrow transport $TRANSPORT; COUNT=$COUNT BURST=$BURST; load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$direct_note" ]; then echo "$direct_note"; fi
for r in $RTTS; do
  echo
  if [ "$r" = 0 ]; then
    echo "RTT 0 (loopback, no delay link); time to the first byte of the answer in ms, p50 / p99:"
  else
    echo "RTT $r ms end to end (one-way $(awk -v r="$r" 'BEGIN { print r / 2 }') ms on the one link of plain/haproxy/ssh, $(awk -v r="$r" 'BEGIN { print r / 4 }') ms on each of Burrow's two agent-relay legs); time to the first byte of the answer in ms (and in RTTs), p50 / p99:"
  fi
  echo
  echo "| path | first byte, server-first | HTTP answer, client-first | burst of $BURST, server-first | burst of $BURST, HTTP | CPU ms per connection |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for p in $PATHS; do
    [ "$(get "$r" "$p" ttfb_http samples)" != - ] || continue
    echo "| $p | $(cell "$r" "$p" ttfb_first) | $(cell "$r" "$p" ttfb_http) | $(cell "$r" "$p" burst_first) | $(cell "$r" "$p" burst_http) | $(get "$r" "$p" cpu cpu_ms_per_conn) |"
  done
  if has "$RATE_RTTS" "$r"; then
    echo
    echo "New HTTP connections per second at saturation, RTT $r ($RATE_WORKERS workers, $RATE_SECONDS s, every answer checked):"
    echo
    echo "| path | connections/s | failed | CPU ms per connection |"
    echo "| --- | --- | --- | --- |"
    for p in $PATHS; do
      [ "$(get "$r" "$p" rate conns)" != - ] || continue
      echo "| $p | $(get "$r" "$p" rate conns_per_s) | $(get "$r" "$p" rate errors) | $(get "$r" "$p" rate cpu_ms_per_conn) |"
    done
  fi
  if has "$BULK_RTTS" "$r"; then
    echo
    echo "Bulk, RTT $r (iperf3, $DURATION s; CPU of the path's processes per GiB received):"
    echo
    head="| path |"; sep="| --- |"
    for n in $STREAMS; do head="$head $n stream(s) Gbit/s | CPU s/GiB |"; sep="$sep --- | --- |"; done
    echo "$head"; echo "$sep"
    for p in $PATHS; do
      row="| $p |"
      for n in $STREAMS; do row="$row $(get "$r" "$p" "bulk_$n" gbit_per_s) | $(get "$r" "$p" "bulk_$n" cpu_s_per_gib) |"; done
      echo "$row"
    done
  fi
done
if [ -n "${KEEP_RESULTS:-}" ]; then cp "$results" "$KEEP_RESULTS"; fi
