#!/usr/bin/env bash
# Where a burst of new connections spends its time (issue 15, goal 1): one relay-session agent pair
# whose two agent-relay legs go through a DelayProxy (one-way D each, so the end-to-end RTT is 4·D),
# a burst of BURST new connections to a server-first target at once (SetupProbe burst), and a
# tcpdump of loopback during the burst. Prints the probe's p50/p99 and, from the packets, each
# connection's time from the client's SYN to the first byte the dialing agent writes back, in the
# order of the SYNs, and the payload packets of every hop (dialer -> link -> relay -> link ->
# listener and back) relative to the first SYN, so a round trip, a batch or a hop's processing
# delay shows as such. Root (tcpdump); path processes on CPU 1, probe, targets and links on CPU 0.
#   bench/burst-trace.sh                       D=25 (RTT 100 ms), BURST=100
#   D=5 BURST=25 HOPS=0 bench/burst-trace.sh   RTT 20 ms; no per-hop listing
#   D=0 BURST=1 bench/burst-trace.sh           one new connection on loopback, hop by hop
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
bench_name=burst-trace
. "$root/bench/lib.sh"

D=${D:-25}                      # one-way delay of each agent-relay leg, ms
BURST=${BURST:-100}
HOPS=${HOPS:-1}                 # 1: list every payload packet between the agents during the burst
TRANSPORT=${TRANSPORT:-epoll}
pin_tunnel=(taskset -c 1); pin_load=(taskset -c 0)

bench_build dev/burrow/bench/tunnel/SetupProbe.class bench/src/main/java/dev/burrow/bench/tunnel
bench_require tcpdump taskset ss python3
bench_workdir
bench_start_targets
bench_relay
xl=$(free_port); cl=$(free_port); ctl=$(free_port)
"${pin_load[@]}" "$JAVA_HOME/bin/java" -Xmx256m -cp "$classes:$jar" dev.burrow.bench.tunnel.DelayProxy --delay-ms 0 \
  --control "$ctl" "$xl:$relay_port" "$cl:$relay_port" >"$work/link.log" 2>&1 &
pids+=($!)
for _ in $(seq 600); do grep -qs '^READY' "$work/link.log" && break; sleep 0.1; done
grep -qs '^READY' "$work/link.log" || bench_fail "link did not start: $(cat "$work/link.log")"
bench_burrow_pair s "$xl" "$cl" "BURROW_DIRECT=off BURROW_RELAY_SESSIONS=on" "$first_port" "$http_port"
probe() { "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.SetupProbe "$@"; }

echo "$bench_name: warming up (10 s of connections, no delay)..." >&2
probe rate --port "${fwd_ports[1]}" --workers 8 --seconds 10 --label warm >/dev/null
exec 3<>"/dev/tcp/127.0.0.1/$ctl"; echo "delay $D" >&3; read -r reply <&3; exec 3>&-
[ "$reply" = OK ] || bench_fail "link: $reply"
rtt=$((4 * D))
probe ttfb --port "${fwd_ports[0]}" --mode first --count 20 --rtt-ms "$rtt" --label one-at-a-time | grep '^RESULT'

tcpdump -l -i lo -n -tt -s 96 "tcp and (port ${fwd_ports[0]} or port $xl or port $cl or port $relay_port)" \
  >"$work/trace.txt" 2>/dev/null &
tcpdump_pid=$!; pids+=("$tcpdump_pid")
sleep 1
probe burst --port "${fwd_ports[0]}" --mode first --count "$BURST" --rtt-ms "$rtt" --label burst | grep '^RESULT'
sleep 1
kill "$tcpdump_pid"; wait "$tcpdump_pid" 2>/dev/null || true

python3 - "$work/trace.txt" "${fwd_ports[0]}" "$cl" "$xl" "$relay_port" "$rtt" "$HOPS" <<'PY'
import re, sys
trace, fwd, cl, xl, relay, rtt, hops = sys.argv[1:]
rtt = float(rtt)
names = {fwd: "client-side forward", cl: "dialer link", xl: "listener link", relay: "relay"}
packet = re.compile(r"(\d+\.\d+) IP 127\.0\.0\.1\.(\d+) > 127\.0\.0\.1\.(\d+): Flags \[([^\]]*)\].*length (\d+)")
syn, first, rows = {}, {}, []
for line in open(trace):
    m = packet.match(line)
    if not m:
        continue
    t, src, dst, flags, size = float(m[1]), m[2], m[3], m[4], int(m[5])
    rows.append((t, src, dst, size))
    if dst == fwd and flags == "S":
        syn.setdefault(src, t)
    if src == fwd and size > 0 and dst not in first:
        first[dst] = t
done = sorted((p for p in syn if p in first), key=lambda p: syn[p])
if not done:
    sys.exit("burst-trace: no connection of the burst in the trace")
t0 = syn[done[0]]
lat = sorted((first[p] - syn[p]) * 1000 for p in done)
q = lambda f: lat[min(len(lat) - 1, int(f * len(lat)))]
in_rtt = lambda ms: f" ({ms / rtt:.2f} RTT)" if rtt > 0 else ""
print(f"on the wire: {len(done)} connections, SYN to first byte p50 {q(0.5):.2f} ms{in_rtt(q(0.5))}, "
      f"p99 {q(0.99):.2f} ms{in_rtt(q(0.99))}; the client's SYNs spread over "
      f"{(syn[done[-1]] - t0) * 1000:.1f} ms")
print("connection (in SYN order)  SYN at  first byte at  SYN to first byte (ms from the first SYN)")
for i in range(0, len(done), max(1, len(done) // 10)):
    p = done[i]
    print(f"  #{i:<3d}                    {(syn[p] - t0) * 1000:6.2f}  {(first[p] - t0) * 1000:12.2f}  {(first[p] - syn[p]) * 1000:8.2f}")
if hops == "1":
    print("payload packets between the agents (ms from the first SYN; 'eph' is the other end's port):")
    end = (max(first[p] for p in done) - t0) * 1000 + 5
    for t, src, dst, size in rows:
        rel = (t - t0) * 1000
        if size > 0 and fwd not in (src, dst) and -5 < rel < end:
            print(f"  {rel:8.2f}  {names.get(src, 'eph'):>14s} -> {names.get(dst, 'eph'):<14s} {size}")
PY
