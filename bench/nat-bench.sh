#!/usr/bin/env bash
# Direct QUIC path against a relay circuit, side by side in one run on this machine:
#   bench/nat-bench.sh            256 MiB one way, 3 rounds
#   MIB=512 ROUNDS=5 bench/nat-bench.sh
# Prints the loopback punch time and MiB/s of one stream on each path per round.
# The NAT lab timings (connect -> verified direct path with 0/20/100 ms of delay) come from
#   ./run-tests -pl cli -am -o -Dtest=DirectPathTimingNatTest -Dsurefire.failIfNoSpecifiedTests=false
#   bench/nat-bench.sh lab        the NAT lab cases (root): start -> direct, first byte, first path, probes
#                                 (bench/nat-lab-bench.sh; NAT_BENCH_BUDGET=25 seconds per case)
set -euo pipefail
if [ "${1:-}" = "lab" ]; then shift; exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/nat-lab-bench.sh" "$@"; fi
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/scripts/find-java.sh"
burrow_find_java
burrow_quiet_maven
cd "$root"

MIB=${MIB:-256}
ROUNDS=${ROUNDS:-3}
jar="$root/cli/target/burrow.jar"
main_class="$root/bench/target/classes/dev/burrow/bench/nat/DirectVsRelayBench.class"
if [ ! -f "$jar" ] || [ ! -f "$main_class" ] \
    || [ -n "$(find "$root/relay-client/src/main" "$root/relay-server/src/main" "$root/bench/src/main/java/dev/burrow/bench/nat" -name '*.java' -newer "$main_class" -print -quit)" ]; then
  echo "nat-bench: building (mvn package -pl bench -am)..." >&2
  mvn -B -q -DskipTests package -pl bench -am >&2
fi
exec "$JAVA_HOME/bin/java" --enable-native-access=ALL-UNNAMED -cp "$root/bench/target/classes:$jar" dev.burrow.bench.nat.DirectVsRelayBench "$MIB" "$ROUNDS"
