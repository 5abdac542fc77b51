#!/usr/bin/env bash
# Run the three reference days and diff each summary.json against a baseline directory
# (default /work/baseline), ignoring wall-clock fields. Usage: scripts/check_days.sh [baseline] [outprefix]
set -uo pipefail
cd "$(dirname "$0")/.."
base=${1:-/work/baseline}
out=${2:-/tmp/days}
status=0
for name in small small-partition ny2030; do
  .venv/bin/scowl run "configs/$name.toml" --out "$out-$name" > "$out-$name.log" 2>&1 || { echo "$name: run failed (see $out-$name.log)"; status=1; continue; }
  echo "== python3 scripts/summary_diff.py $base/$name/summary.json $out-$name/summary.json"
  python3 scripts/summary_diff.py "$base/$name/summary.json" "$out-$name/summary.json" || status=1
done
exit $status
