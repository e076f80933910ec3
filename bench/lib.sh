# Shared set-up of the benchmark scripts (sourced, not run). Each script sets `root` to the project
# root and `bench_name` to its own name (for messages), then sources this file:
#   root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
#   bench_name=tunnel-bench
#   . "$root/bench/lib.sh"
# Functions that start background processes add their PIDs to `pids`; the EXIT trap set by
# bench_workdir stops them (SIGTERM, then SIGKILL after BENCH_STOP_TENTHS tenths of a second).

. "$root/scripts/find-java.sh"
burrow_find_java
burrow_quiet_maven
cd "$root"

bench_fail() { echo "$bench_name: $*" >&2; exit 1; }

# Where the server side listens (relay, sshd) and how client-side processes start (connect-side
# agents, ssh -L, iperf3 and probe clients). Defaults: everything on loopback in this namespace.
# bench_veth (VETH=1 in a script) moves the client side into a network namespace behind a veth pair.
host_addr=127.0.0.1
client_ns=()

# bench_build MAIN_CLASS_FILE BENCH_SOURCE_DIR: builds the burrow jar and the bench classes when either
# is missing or older than its sources. Sets `jar` and `classes`. NO_BUILD=1 skips the check;
# BENCH_CLASSES=DIR uses prebuilt bench classes (and skips it too); BENCH_JAR=FILE another burrow jar (A/B runs).
bench_build() {
  jar="${BENCH_JAR:-$root/cli/target/burrow.jar}"
  classes="${BENCH_CLASSES:-$root/bench/target/classes}"
  local main="$classes/$1" src="$root/$2"
  if [ -n "${NO_BUILD:-}" ] || [ -n "${BENCH_CLASSES:-}" ]; then return 0; fi
  if [ ! -f "$jar" ] || [ ! -f "$main" ] \
      || [ -n "$(find "$root/relay-server/src/main" "$root/relay-client/src/main" "$root/relay-protocol/src/main" "$root/identity/src/main" "$root/transport/src/main" \
          "$root/stun/src/main" "$root/cli/src/main" -name '*.java' -newer "$jar" -print -quit)" ] \
      || [ -n "$(find "$src" -name '*.java' -newer "$main" -print -quit)" ]; then
    echo "$bench_name: building (mvn package -pl bench -am)..." >&2
    mvn -B -q -DskipTests package -pl bench -am >&2
  fi
}

bench_require() { # tools...
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || bench_fail "$tool not installed (scripts/install-test-deps.sh)"
  done
}

# bench_workdir: a temp dir `work` with private copies of the jar and the classes (others may rebuild
# cli/target in this checkout while a benchmark runs), the `pids` list and the clean-up trap.
# KEEP_WORK=1 keeps the directory (logs).
BENCH_STOP_TENTHS=${BENCH_STOP_TENTHS:-50}
bench_workdir() {
  work="$(mktemp -d)"
  for _ in $(seq 120); do cp "$jar" "$work/burrow.jar" 2>/dev/null && break; sleep 1; done
  [ -f "$work/burrow.jar" ] || bench_fail "$jar missing"
  cp -r "$classes" "$work/classes"
  jar="$work/burrow.jar"; classes="$work/classes"
  pids=()
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
}
bench_cleanup() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq "$BENCH_STOP_TENTHS"); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  if [ -n "${veth_ns:-}" ]; then ip netns del "$veth_ns" 2>/dev/null || true; fi
  if [ -n "${KEEP_WORK:-}" ]; then echo "$bench_name: kept $work" >&2; else rm -rf "$work"; fi
}

# bench_veth: a network namespace for the client side, joined to this one by a veth pair
# (10.203.0.1 here, 10.203.0.2 there, MTU 1500): the relay and sshd listen on 10.203.0.1, the
# connect-side agents, ssh -L and the clients run in the namespace, so every path crosses the veth
# (Burrow's direct path goes straight across it, its relay path across it to the relay). Root only;
# the namespace is removed on exit.
bench_veth() {
  [ "$(id -u)" = 0 ] || bench_fail "VETH=1 needs root (network namespaces)"
  veth_ns="burrow-bench-$$"
  ip netns add "$veth_ns"
  ip link add "bbh$$" type veth peer name "bbc$$"
  ip link set "bbc$$" netns "$veth_ns"
  ip addr add 10.203.0.1/24 dev "bbh$$"
  ip link set "bbh$$" up
  ip -n "$veth_ns" addr add 10.203.0.2/24 dev "bbc$$"
  ip -n "$veth_ns" link set "bbc$$" up
  ip -n "$veth_ns" link set lo up
  host_addr=10.203.0.1
  client_ns=(ip netns exec "$veth_ns")
}

# A loopback TCP port nothing listens on and this run has not handed out yet.
free_port() {
  local p
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! ss -Htan "sport = :$p" | grep -q . && ! grep -qx "$p" "$work/ports" 2>/dev/null; then echo "$p" >>"$work/ports"; echo "$p"; return; fi
  done
  bench_fail "no free port"
}
wait_tcp() { # $1 port
  for _ in $(seq 900); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.1; done
  echo "$bench_name: nothing listens on $1" >&2; return 1
}
wait_client_tcp() { # $1 port, on the client side (bench_veth's namespace, else here)
  for _ in $(seq 900); do "${client_ns[@]}" ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.1; done
  echo "$bench_name: nothing listens on $1 (client side)" >&2; return 1
}

# CPU seconds (user+system, in clock ticks) of processes and all their descendants, from /proc.
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

# bench_cpu_ms_per TICKS N: CPU milliseconds per item for TICKS clock ticks over N items (0 when N is 0).
bench_cpu_ms_per() { awk -v d="$1" -v t="$tck" -v n="${2:-0}" 'BEGIN { printf "%.2f", (n > 0 ? d / t * 1000 / n : 0) }'; }

# bench_bulk PORT STREAMS PID...: iperf3 through loopback PORT for DURATION seconds with STREAMS
# parallel connections (under pin_load); prints "GBIT_PER_S CPU_S_PER_GIB", the CPU being that of the
# PIDs (and their children) per GiB received. Fails, printing nothing, when iperf3 fails.
bench_bulk() {
  local port=$1 n=$2 c0 c1; shift 2
  c0=$(cpu_seconds "$@")
  "${client_ns[@]}" "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "$port" -t "$DURATION" -P "$n" -J >"$work/iperf.json" 2>>"$work/iperf.err" || return 1
  [ -z "$(jq -r '.error // empty' "$work/iperf.json" 2>/dev/null)" ] || return 1
  c1=$(cpu_seconds "$@")
  awk -v b="$(jq '.end.sum_received.bytes' "$work/iperf.json")" -v bps="$(jq '.end.sum_received.bits_per_second' "$work/iperf.json")" \
    -v c="$((c1 - c0))" -v t="$tck" 'BEGIN { gib = b / 1073741824; printf "%.2f %.2f\n", bps / 1e9, (gib > 0 ? c / t / gib : 0) }'
}

# ---------------------------------------------------------------- forwarded-TCP benchmarks (tunnel, mesh)
# They need pin_load (a taskset prefix), PATHS, STREAMS, ROUNDS, DURATION, WARMUP, TTFB_COUNT,
# PING_COUNT, the arrays port_iperf/port_first/port_echo/path_pids keyed by path, and optionally a
# function cpu_parts PATH that prints "name=ticks ..." for a per-process CPU split.

java_probe() { "${client_ns[@]}" "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelProbe "$@"; }

# The targets every path ends at, on LOAD_CPU: an iperf3 server and TunnelProbe's first-byte and echo
# servers. Sets iperf_port, first_port, echo_port, http_port (HTTP/1.0, client speaks first).
bench_start_targets() {
  iperf_port=$(free_port)
  "${pin_load[@]}" iperf3 -s -B 127.0.0.1 -p "$iperf_port" >"$work/iperf3-server.log" 2>&1 &
  pids+=($!)
  "${pin_load[@]}" "$JAVA_HOME/bin/java" -cp "$classes" dev.burrow.bench.tunnel.TunnelProbe serve >"$work/probe-server.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do grep -qs '^SERVE ' "$work/probe-server.log" && break; sleep 0.1; done
  first_port=$(sed -n 's/^SERVE first=\([0-9]*\) .*/\1/p' "$work/probe-server.log")
  echo_port=$(sed -n 's/^SERVE .*echo=\([0-9]*\).*/\1/p' "$work/probe-server.log")
  http_port=$(sed -n 's/^SERVE .*http=\([0-9]*\).*/\1/p' "$work/probe-server.log")
  [ -n "$first_port" ] && [ -n "$echo_port" ] || bench_fail "the probe server did not start: $(cat "$work/probe-server.log")"
  wait_tcp "$iperf_port"
}

# Warm-up: unrecorded transfers and connections per path, the same for every path. The JVMs need it:
# with a path's three JVMs pinned to one core, their JIT compilers still took about half of that core
# 5 s into a transfer and were done after about 25 s (perf), so a shorter warm-up measures the
# compilers, not the relay. Long-lived relays and agents run compiled code.
bench_warmup() {
  local p half=$(( (WARMUP + 1) / 2 ))
  for p in $PATHS; do
    echo "$bench_name: warming up $p (${WARMUP}s)..." >&2
    "${client_ns[@]}" "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port_iperf[$p]}" -t "$half" -P 1 >/dev/null 2>&1 || echo "$bench_name: warm-up on $p failed" >&2
    "${client_ns[@]}" "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port_iperf[$p]}" -t "$half" -P 8 >/dev/null 2>&1 || echo "$bench_name: warm-up on $p failed" >&2
    java_probe ttfb --port "${port_first[$p]}" --count 100 --warmup 0 --label "$p" >/dev/null 2>&1 || true
    java_probe pingpong --port "${port_echo[$p]}" --count 2000 --warmup 0 --label "$p" >/dev/null 2>&1 || true
  done
}

# Rounds: paths interleaved, order reversed in even rounds; per path iperf3 throughput with each STREAMS
# count (CPU of the path's processes per GiB received), time to first byte and a 64-byte ping-pong.
# RESULT lines go to $1 (TunnelSummary reads them).
bench_rounds() {
  local results=$1 round p n c0 c1 parts0 parts1 bytes bps line kv k v0 v1 order
  for round in $(seq "$ROUNDS"); do
    order=($PATHS)
    if [ $((round % 2)) -eq 0 ]; then order=($(printf '%s\n' $PATHS | tac)); fi
    for p in "${order[@]}"; do
      echo "$bench_name: round $round, $p..." >&2
      for n in $STREAMS; do
        c0=$(cpu_seconds ${path_pids[$p]:-}); parts0=$(bench_cpu_parts "$p")
        if ! "${client_ns[@]}" "${pin_load[@]}" iperf3 -c 127.0.0.1 -p "${port_iperf[$p]}" -t "$DURATION" -P "$n" -J >"$work/iperf.json" 2>>"$work/iperf.err"; then
          echo "$bench_name: iperf3 through $p failed: $(jq -r .error "$work/iperf.json" 2>/dev/null)" >&2; continue
        fi
        c1=$(cpu_seconds ${path_pids[$p]:-}); parts1=$(bench_cpu_parts "$p")
        bytes=$(jq '.end.sum_received.bytes' "$work/iperf.json")
        bps=$(jq '.end.sum_received.bits_per_second' "$work/iperf.json")
        line=$(awk -v p="$p" -v r="$round" -v n="$n" -v b="$bytes" -v bps="$bps" -v c="$((c1 - c0))" -v t="$tck" \
          'BEGIN { gib = b / 1073741824; printf "RESULT label=%s kind=throughput_%dconn round=%d gbit_per_s=%.3f path_cpu_s=%.2f path_cpu_s_per_gib=%.2f", p, n, r, bps / 1e9, c / t, (gib > 0 ? c / t / gib : 0) }')
        for kv in $parts1; do
          k=${kv%%=*}; v1=${kv#*=}; v0=$(echo "$parts0" | tr ' ' '\n' | sed -n "s/^$k=//p")
          line="$line $(awk -v k="$k" -v d="$((v1 - v0))" -v t="$tck" -v b="$bytes" 'BEGIN { printf "%s_cpu_s_per_gib=%.2f", k, d / t / (b / 1073741824) }')"
        done
        echo "$line" >>"$results"
      done
      java_probe ttfb --port "${port_first[$p]}" --count "$TTFB_COUNT" --warmup 10 --label "$p" 2>>"$work/probe.err" \
        | grep '^RESULT' | sed "s/ kind=ttfb/ kind=ttfb round=$round/" >>"$results" || echo "$bench_name: ttfb through $p failed" >&2
      java_probe pingpong --port "${port_echo[$p]}" --count "$PING_COUNT" --warmup 1000 --label "$p" 2>>"$work/probe.err" \
        | grep '^RESULT' | sed "s/ kind=pingpong/ kind=pingpong round=$round/" >>"$results" || echo "$bench_name: ping-pong through $p failed" >&2
    done
  done
}
bench_cpu_parts() { if declare -F cpu_parts >/dev/null; then cpu_parts "$1"; fi; }

# ---------------------------------------------------------------- path starters (tunnel-bench, setup-bench)
# They run the path's processes under pin_tunnel (a taskset prefix) and add their PIDs to `pids`.

# bench_haproxy NAME LISTEN:NEXT...: one haproxy process (nbthread 1, mode tcp) forwarding each loopback
# LISTEN port to NEXT. Sets haproxy_pid.
bench_haproxy() {
  local name=$1 i=0 m; shift
  {
    printf 'global\n  nbthread 1\n  maxconn 4096\n  pidfile %s/%s.pid\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 5m\n  timeout server 5m\n' "$work" "$name"
    for m in "$@"; do
      printf 'listen l%s\n  bind 127.0.0.1:%s\n  server s 127.0.0.1:%s\n' "$i" "${m%%:*}" "${m#*:}"; i=$((i + 1))
    done
  } >"$work/$name.cfg"
  "${pin_tunnel[@]}" haproxy -db -f "$work/$name.cfg" >"$work/$name.log" 2>&1 &
  pids+=($!); haproxy_pid=$!
  for m in "$@"; do wait_tcp "${m%%:*}"; done
}

# bench_sshd: an sshd on a high loopback port with its own config, host key and user key in $work/ssh.
# Sets sshd_port, sshd_pid.
bench_sshd() {
  sshd_port=$(free_port)
  mkdir -p "$work/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$work/ssh/user_key"
  cp "$work/ssh/user_key.pub" "$work/ssh/authorized_keys"
  chmod 600 "$work/ssh/authorized_keys"
  cat >"$work/ssh/sshd_config" <<EOF
ListenAddress $host_addr
Port $sshd_port
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
  pids+=($!); sshd_pid=$!
  wait_tcp "$sshd_port"
}

# bench_ssh_forward NAME PORT CIPHER TARGET...: `ssh -L` to the sshd of bench_sshd, connecting to loopback
# PORT (sshd_port, or a delay proxy in front of it), cipher CIPHER ("" = OpenSSH's default), one new
# loopback port per TARGET port. Sets fwd_ports (same order as the targets) and ssh_pid.
bench_ssh_forward() {
  local name=$1 port=$2 cipher=$3 t l args=(); shift 3
  fwd_ports=()
  for t in "$@"; do l=$(free_port); fwd_ports+=("$l"); args+=(-L "127.0.0.1:$l:127.0.0.1:$t"); done
  if [ -n "$cipher" ]; then args+=(-c "$cipher"); fi
  "${client_ns[@]}" "${pin_tunnel[@]}" ssh -N -T -i "$work/ssh/user_key" -p "$port" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o BatchMode=yes -o ExitOnForwardFailure=yes -o LogLevel=ERROR "${args[@]}" "$(id -un)@$host_addr" >"$work/$name.log" 2>&1 &
  pids+=($!); ssh_pid=$!
  for l in "${fwd_ports[@]}"; do wait_client_tcp "$l"; done
}

# bench_relay [ARGS...]: `burrow relay --dev` on a free port (extra ARGS appended), per-IP connect limits
# raised (every circuit is new connections from 127.0.0.1). Sets relay_port, relay_pid, relay_fp.
bench_relay() {
  relay_port=$(free_port)
  local admin; admin=$(free_port)
  # shellcheck disable=SC2086 # BURROW_JAVA_OPTS_RELAY is a list of JVM flags (e.g. a JFR recording)
  BURROW_LOG_LEVEL="${BENCH_RELAY_LOG_LEVEL:-WARN}" "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" ${BURROW_JAVA_OPTS_RELAY:-} --enable-native-access=ALL-UNNAMED -jar "$jar" relay --dev \
    --listen "$host_addr:$relay_port" --admin-listen "127.0.0.1:$admin" --transport "$TRANSPORT" --drain-grace 0s \
    --set tls.dev-dir="$work/relay-tls" --set limits.ip-connect-rate=1000000 --set limits.ip-connect-burst=1000000 "$@" \
    >"$work/relay.log" 2>&1 &
  pids+=($!); relay_pid=$!
  for _ in $(seq 900); do grep -qs '^development certificate sha256:' "$work/relay.log" && break; sleep 0.1; done
  relay_fp=$(grep -o '^development certificate sha256:[0-9a-f]*' "$work/relay.log" | head -n1 | cut -d' ' -f3)
  [ -n "$relay_fp" ] || { cat "$work/relay.log" >&2; bench_fail "relay did not start"; }
}

# bench_burrow_pair NAME EXPOSE_RELAY_PORT CONNECT_RELAY_PORT ENV TARGET...: two `burrow agent` JVMs,
# NAME-x exposing each TARGET port and NAME-c forwarding a new loopback port to each, reaching the relay
# of bench_relay at the given loopback ports (its own port, or delay proxies in front of it). ENV is a
# list of VAR=value for both agents (e.g. "BURROW_DIRECT=off"). Sets fwd_ports (target order),
# expose_pid, connect_pid; returns once both agents report ready. The agents run from $pair_jar when set
# (another build of Burrow, e.g. a baseline), else from $jar.
bench_burrow_pair() {
  local name=$1 xport=$2 cport=$3 envs=$4 i t idx idc who; shift 4
  idx=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/$name-x" --name "$name-x" | sed -n 's/^node ID: *//p')
  idc=$("$JAVA_HOME/bin/java" -jar "$jar" id --state "$work/$name-c" --name "$name-c" | sed -n 's/^node ID: *//p')
  printf 'relay:\n  url: https://%s:%s\n  fingerprint: %s\nexpose:\n' "$host_addr" "$xport" "$relay_fp" >"$work/$name-x.yaml"
  printf 'relay:\n  url: https://%s:%s\n  fingerprint: %s\npeers:\n  x: %s\nforward:\n' "$host_addr" "$cport" "$relay_fp" "$idx" >"$work/$name-c.yaml"
  fwd_ports=(); i=0
  for t in "$@"; do
    fwd_ports+=("$(free_port)")
    echo "  - {name: s$i, target: 127.0.0.1:$t, allow: [node:$idc]}" >>"$work/$name-x.yaml"
    echo "  - {peer: x, service: s$i, listen: ${fwd_ports[$i]}}" >>"$work/$name-c.yaml"
    i=$((i + 1))
  done
  local ns
  for who in x c; do
    ns=(); if [ "$who" = c ]; then ns=("${client_ns[@]}"); fi
    # shellcheck disable=SC2086 # ENV and BURROW_JAVA_OPTS_AGENT are lists
    "${ns[@]}" env $envs BURROW_LOG_LEVEL="${BENCH_AGENT_LOG_LEVEL:-WARN}" "${pin_tunnel[@]}" "$JAVA_HOME/bin/java" ${BURROW_JAVA_OPTS_AGENT:-} --enable-native-access=ALL-UNNAMED -jar "${pair_jar:-$jar}" agent \
      --config "$work/$name-$who.yaml" --state "$work/$name-$who" --transport "$TRANSPORT" >"$work/agent-$name-$who.log" 2>&1 &
    pids+=($!)
    if [ "$who" = x ]; then expose_pid=$!; else connect_pid=$!; fi
  done
  for t in "${fwd_ports[@]}"; do wait_client_tcp "$t"; done
  for who in x c; do
    for _ in $(seq 120); do "$JAVA_HOME/bin/java" -jar "$jar" ready -q --state "$work/$name-$who" 2>/dev/null && break; sleep 1; done
  done
}
