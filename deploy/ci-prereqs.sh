#!/usr/bin/env bash
# Installs what the network-namespace tests (tests/deploy, marker netns) need on a clean machine:
# nftables, iptables, iproute2, ping and libnetfilter-queue (apt), and netfilterqueue (into .venv).
# Idempotent, quiet, non-interactive. It never fails CI: without apt or root the netns tests skip
# and say why.
set -u
cd "$(dirname "$0")/.."
say() { echo "== deploy prereqs: $*"; }
need=()
for t in nft:nftables iptables:iptables ip:iproute2 ping:iputils-ping; do
  command -v "${t%%:*}" >/dev/null 2>&1 || need+=("${t#*:}")
done
[ -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ] || need+=(libnetfilter-queue-dev)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "apt-get install ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/tmp/scowl-ci-prereqs-apt.log 2>&1 \
      || say "apt-get failed (see /tmp/scowl-ci-prereqs-apt.log); the netns tests will skip"
  else
    say "missing ${need[*]} and no root apt-get; the netns tests will skip"
  fi
fi
if [ -x .venv/bin/python ] && ! .venv/bin/python -c 'import netfilterqueue' >/dev/null 2>&1; then
  say "pip install netfilterqueue"
  .venv/bin/pip install --quiet netfilterqueue >/tmp/scowl-ci-prereqs-pip.log 2>&1 \
    || say "pip install netfilterqueue failed (see /tmp/scowl-ci-prereqs-pip.log); the latency tests will skip"
fi
exit 0
