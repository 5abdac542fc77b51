"""`scowl sweep CONFIG`: the day at increasing scale and tracker counts; the limiting resource
and when to shard, from the measurements."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from scowl.commands._types import positive_float, positive_int


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sweep", help="run a scenario at increasing scale and tracker counts; name the limiting resource and when to shard",
                       description="Run CONFIG's day (or its first --ticks) at each --scales x --trackers point, each as its own "
                       "`scowl run` subprocess, and measure per run and role: rebalance rate (Hz), consumers rebalanced per "
                       "second, CPU per process (sampled over the ticks), peak memory, messages and bytes per link, event-loop "
                       "lag and tick latency. Writes OUT/sweep.csv, OUT/sweep.json and OUT/sweep-*.png, names the resource "
                       "that bound first and at what scale, fits one tracker's round cost, says how many trackers hold "
                       "--target-hz at --target-scale, and confirms it with a run.")
    p.add_argument("config", help="scenario TOML (e.g. configs/small.toml)")
    p.add_argument("--out", help="sweep directory (default: runs/sweep-<scenario>-<timestamp>)")
    p.add_argument("--scales", type=positive_float, nargs="+", help="scenario.scale values (default: the config's scale x 0.1, 1, 10, 100, 1000, capped at 1)")
    p.add_argument("--trackers", type=positive_int, nargs="+", help="tracker counts (default: 1 4)")
    p.add_argument("--ticks", type=positive_int, help="run only the first N ticks of the day (default: the whole day)")
    p.add_argument("--processes", action="store_true", help="one OS process per actor (per-role CPU and memory)")
    p.add_argument("--target-hz", type=positive_float, help="rebalance rate to hold when sharding (default: twice what the fewest trackers reached at the target scale)")
    p.add_argument("--target-scale", type=positive_float, help="scale to shard for (default: the largest swept scale)")
    p.add_argument("--no-confirm", action="store_true", help="skip the confirming run with the recommended tracker count")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from scowl.config import load_scenario
    from scowl.sweep import DEFAULT_SCALE_FACTORS, DEFAULT_TRACKERS, sweep

    base = load_scenario(args.config)
    scales = args.scales or sorted({min(1.0, float(f"{base.scenario.scale * f:.6g}")) for f in DEFAULT_SCALE_FACTORS})
    trackers = args.trackers or list(DEFAULT_TRACKERS)
    out = Path(args.out or f"runs/sweep-{Path(args.config).stem}-{dt.datetime.now():%Y%m%d-%H%M%S}")
    n = len(scales) * len(trackers)
    print(f"scowl sweep {args.config}: {n} runs (scales {', '.join(f'{s:g}' for s in scales)}; trackers "
          f"{', '.join(map(str, trackers))}; {args.ticks or base.ticks} ticks each{', one process per actor' if args.processes else ''}) into {out}/",
          flush=True)
    meta = sweep(args.config, out, scales=scales, trackers=trackers, ticks=args.ticks, processes=args.processes,
                 target_hz=args.target_hz, target_scale=args.target_scale, confirm=not args.no_confirm,
                 say=lambda s: print(s, flush=True))
    from scowl.sweep import load_sweep
    from scowl.report_sweep import sweep_table_text

    table, _ = load_sweep(out)
    print("\n" + sweep_table_text(table))
    print(f"\nsweep in {out}/ (sweep.csv, sweep.json, sweep-rate.png, sweep-resources.png, runs/) in {meta['elapsed_s']:.0f} s")
    return 0
