#!/usr/bin/env python3
"""Compare two summary.json files, ignoring what depends on the machine, not on the day.

    python3 scripts/summary_diff.py BEFORE/summary.json AFTER/summary.json

Dropped before comparing: wall-clock and rate figures (wall_seconds, tick_wall_ms, round_ms_*,
rate_hz_*, *_per_s, rounds_per_wall_s, report_to_assign_ms_*), peak_memory_mb and the version/commit string. Everything else (energy,
starvation, blackouts, storage, partition figures, peer counts) must be equal; the differing
paths are printed one per line and the exit status is 1 when any differ, 0 when none do.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

#: keys whose values are wall-clock, rate, memory or build facts (matched on whole key names)
VOLATILE = re.compile(r"^(wall_seconds|tick_wall_ms|peak_memory_mb|version|commit|peers_rebalanced_per_s"
                      r"|rate_hz_\w+|round_ms_\w+|rounds_per_wall_s|report_to_assign_ms_\w+)$")


def flatten(value: Any, path: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            if not VOLATILE.match(str(key)):
                out.update(flatten(sub, f"{path}/{key}"))
        return out or {path: {}}
    return {path: value}


def diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    a, b = flatten(before), flatten(after)
    lines = []
    for key in sorted(set(a) | set(b)):
        if key not in b:
            lines.append(f"- {key} = {a[key]!r}")
        elif key not in a:
            lines.append(f"+ {key} = {b[key]!r}")
        elif a[key] != b[key]:
            lines.append(f"! {key}: {a[key]!r} -> {b[key]!r}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1]) as f1, open(argv[2]) as f2:
        lines = diff(json.load(f1), json.load(f2))
    for line in lines:
        print(line)
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
