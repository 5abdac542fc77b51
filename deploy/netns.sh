#!/usr/bin/env bash
# Emulated hosts as network namespaces on this machine (root): a thin wrapper over
# `scowl deploy netns ...`.
#   deploy/netns.sh grid --deployment deploy/hosts-3.toml deploy/hosts-3-partition.toml --out runs/h3-cut   # the day
#   deploy/netns.sh run deploy/hosts-3.toml --scenario configs/small-partition.toml --command TEMPLATE
#   deploy/netns.sh up deploy/hosts-3.toml;  deploy/netns.sh exec RUNID h1 -- ip addr;  deploy/netns.sh down RUNID
#   deploy/netns.sh cleanup          # what earlier runs left behind
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
scowl="$here/.venv/bin/scowl"; [ -x "$scowl" ] || scowl=scowl
if [ "${1:-}" = cleanup ]; then shift; exec "$scowl" deploy cleanup "$@"; fi
exec "$scowl" deploy netns "$@"
