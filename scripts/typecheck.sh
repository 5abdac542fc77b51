#!/usr/bin/env bash
# mypy over the whole installed package, scowl.actors and scowl.broker included: they live in
# actors/ and broker/ (setup.cfg package_dir), so mypy reads them through a view of symlinks,
# .typecheck/scowl/ (the scowl/ entries plus actors -> actors/, broker -> broker/).
# Settings (strict for runtime, wire, balance and model) are in pyproject.toml [tool.mypy].
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rm -rf .typecheck
mkdir -p .typecheck/scowl
for entry in scowl/*; do ln -s "$root/$entry" ".typecheck/scowl/$(basename "$entry")"; done
ln -s "$root/actors" .typecheck/scowl/actors
ln -s "$root/broker" .typecheck/scowl/broker
cd .typecheck
exec "$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" -p scowl "$@"
