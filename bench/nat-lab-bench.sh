#!/usr/bin/env bash
# NAT lab benchmark (needs root: network namespaces and nftables, like the NAT lab tests):
#   bench/nat-bench.sh lab                 every case, 25 s budget per case to go direct
#   NAT_BENCH_BUDGET=15 bench/nat-bench.sh lab
#   NAT_BENCH_CASES='symmetric x easy;same NAT' bench/nat-bench.sh lab   (parts of case names, ';')
# Per case (easy x easy, double NAT, symmetric x easy, symmetric x symmetric, same NAT without
# hairpin, UDP blocked, public x symmetric, miniupnpd): time from agent start to the direct path,
# time from the first connection to its first byte and that connection's path, the final path with
# its reason, and the probe packets (disco pings + spray packets) both agents sent.
# Runs NatBenchNatTest (cli test sources: the lab, DirectLab and the test programs live there) with
# BURROW_BENCH=1 and prints its table (also in
# cli/target/surefire-reports/dev.burrow.natlab.NatBenchNatTest-output.txt).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
. "$root/scripts/find-java.sh"
burrow_find_java
cd "$root"
[ "$(id -u)" = 0 ] || { echo "nat-lab-bench: needs root (network namespaces)" >&2; exit 1; }
export BURROW_BENCH=1
export NAT_BENCH_BUDGET="${NAT_BENCH_BUDGET:-25}"
export NAT_BENCH_CASES="${NAT_BENCH_CASES:-}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! ./run-tests -pl cli -am -o -Dtest=NatBenchNatTest -Dsurefire.failIfNoSpecifiedTests=false >"$log" 2>&1; then
  tail -60 "$log" >&2
  echo "nat-lab-bench: failed" >&2
  exit 1
fi
out="cli/target/surefire-reports/dev.burrow.natlab.NatBenchNatTest-output.txt"
[ -f "$out" ] || { echo "nat-lab-bench: no output ($out)" >&2; exit 1; }
grep -E '^\| ' "$out"
