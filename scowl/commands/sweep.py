"""`scowl sweep CONFIG`: the day at increasing scale and tracker counts; the limiting resource
and when to shard, from the measurements."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from scowl.commands._scenario import (
    add_scenario_arguments,
    scenario_file,
    scenario_of,
    scenario_stem,
)
from scowl.commands._types import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a scenario at increasing scale and tracker counts; name the limiting resource and when to shard",
                       description="Run CONFIG's day (or its first --ticks) at each --scales x --trackers point, each as its own "
                       "`scowl run` subprocess, and measure per run and role: rebalance rate (Hz), consumers rebalanced per "
                       "second, CPU per process (sampled over the ticks), peak memory, messages and bytes per link, event-loop "
                       "lag and tick latency. Writes OUT/sweep.csv, OUT/sweep.json and OUT/sweep-*.png, names the resource "
                       "that bound first and at what scale, fits one tracker's round cost, says how many trackers hold "
                       "--target-hz at --target-scale, and confirms it with a run.")
    add_scenario_arguments(p)
    p.add_argument("--out", help="sweep directory (default: runs/sweep-<scenario>-<timestamp>)")
    p.add_argument("--scales", type=positive_float, nargs="+", help="scenario.scale values (default: the config's scale x 0.1, 1, 10, 100, 1000, capped at 1)")
    p.add_argument("--trackers", type=positive_int, nargs="+", help="tracker counts (default: 1 4)")
    p.add_argument("--ticks", type=positive_int, help="run only the first N ticks of the day (default: the whole day)")
    p.add_argument("--processes", action="store_true", help="one OS process per actor (per-role CPU and memory)")
    p.add_argument("--target-hz", type=positive_float, help="rebalance rate to hold when sharding (default: twice what the fewest trackers reached at the target scale)")
    p.add_argument("--target-scale", type=positive_float, help="scale to shard for (default: the largest swept scale)")
    p.add_argument("--no-confirm", action="store_true", help="skip the confirming run with the recommended tracker count")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object at the end (sweep.json's meta and the table's rows) instead of the table; "
                   "progress lines go to stderr")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scowl.sweep import DEFAULT_SCALE_FACTORS, DEFAULT_TRACKERS, sweep

    base = scenario_of(args)
    scales = args.scales or sorted({min(1.0, float(f"{base.scenario.scale * f:.6g}")) for f in DEFAULT_SCALE_FACTORS})
    trackers = args.trackers or list(DEFAULT_TRACKERS)
    out = Path(args.out or f"runs/sweep-{scenario_stem(args)}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    config = scenario_file(args, out, base)
    n = len(scales) * len(trackers)
    say_to = sys.stderr if args.json else sys.stdout
    quiet = bool(getattr(args, "quiet", False))

    def say(line: str) -> None:
        if not quiet:
            print(line, file=say_to, flush=True)
    say(f"scowl sweep {args.config}: {n} runs (scales {', '.join(f'{s:g}' for s in scales)}; trackers "
        f"{', '.join(map(str, trackers))}; {args.ticks or base.ticks} ticks each{', one process per actor' if args.processes else ''}) into {out}/")
    meta = sweep(config, out, scales=scales, trackers=trackers, ticks=args.ticks, processes=args.processes,
                 target_hz=args.target_hz, target_scale=args.target_scale, confirm=not args.no_confirm, say=say)
    from scowl.report.sweep_table import sweep_table_text
    from scowl.sweep import load_sweep

    table, _ = load_sweep(out)
    if args.json:
        rows = json.loads(table.to_json(orient="records"))
        print(json.dumps({"sweep_dir": str(out), "meta": meta, "rows": rows}, default=str))
        return 0
    print("\n" + sweep_table_text(table))
    print(f"\nsweep in {out}/ (sweep.csv, sweep.json, sweep-rate.png, sweep-resources.png, runs/) in {meta['elapsed_s']:.0f} s")
    return 0
