#!/usr/bin/env bash
# Installs the real peers the interop tests talk to. Idempotent; needs root (CI runs as root).
set -euo pipefail
# dnsmasq, dnsutils (dig): the DNS server and client of the UDP-service end-to-end test.
# miniupnpd-nftables: the PCP / NAT-PMP gateway of the port-mapping NAT lab test (the binary only, no service).
packages=(maven coturn socat iperf3 dnsmasq dnsutils haproxy redis-server redis-tools nginx openssh-server openssh-client nftables iproute2 iputils-ping sslscan prometheus systemd chromium miniupnpd-nftables)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: missing ${missing[*]} and not root; interop tests that need them will fail" >&2
    exit 0
  fi
  echo "install-test-deps: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian starts some of these as services on install; the tests start their own on loopback high ports.
for svc in coturn redis-server nginx haproxy ssh prometheus dnsmasq; do
  (command -v systemctl >/dev/null && systemctl stop "$svc" 2>/dev/null) || service "$svc" stop >/dev/null 2>&1 || true
done
