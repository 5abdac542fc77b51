"""The healthy day's figures: tracker rebalance rates (the prototype's workload and 20,000:1)
and the wall time and peak memory of a whole healthy day at a given scale, every role in
one process (scale 1.0 = every New York consumer, 5-minute ticks)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scowl.bench import rebalance

TARGETS = {"prototype_hz": 1_000.0, "scale_hz": 10.0}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    rebalance.add_arguments(parser)
    parser.add_argument("--day-scale", type=float, default=1.0, help="scale of the healthy day (default 1.0: the whole state)")
    parser.add_argument("--day-ticks", type=int, default=288, help="ticks of the day (default 288: 24 h of 5-minute ticks)")
    parser.add_argument("--day-trackers", type=int, default=4, help="trackers of the day (default 4)")
    parser.add_argument("--day-heartbeat-s", type=float, default=600.0,
                        help="lockstep deadline of the day's stages, s (default 600: slow is not lost in one process)")
    parser.add_argument("--skip-day", action="store_true", help="only the rebalance rates")


def _day(args) -> dict:
    """Run the day in a child process, so its peak memory is its own."""
    from scowl.config import default_scenario_path, load_scenario, override
    from scowl.sweep import scenario_toml

    # A healthy day in one process loses no message, so the lockstep deadline only has to outlast
    # the slowest stage: at scale 1.0 one process takes longer than the 2 s default heartbeat, and
    # peers would be declared lost (partition mode) for being slow, not cut.
    day = override(load_scenario(default_scenario_path()), {"scenario.scale": args.day_scale, "scenario.ticks": args.day_ticks,
                                                             "trackers.count": args.day_trackers,
                                                             "response.heartbeat_timeout_s": args.day_heartbeat_s})
    tmp = Path(tempfile.mkdtemp(prefix="scowl-bench-day-"))
    cfg = tmp / "day.toml"
    cfg.write_text(scenario_toml(day))
    t0 = time.perf_counter()
    code = ("import json,sys; from scowl.runtime.stats import peak_rss_mb; from scowl.run import run_scenario; "
            "s=run_scenario(sys.argv[1], sys.argv[2], show_progress=True); print(json.dumps({'summary': s, 'maxrss_mb': peak_rss_mb()}))")
    # the day's progress bar goes to our stderr; its summary comes back on stdout
    out = subprocess.run([sys.executable, "-c", code, str(cfg), str(tmp / "run")], stdout=subprocess.PIPE, text=True, check=True)
    wall = time.perf_counter() - t0
    res = json.loads(out.stdout.strip().splitlines()[-1])
    s = res["summary"]
    return {"day_scale": args.day_scale, "day_ticks": s["ticks"], "day_consumers": s["peers"]["consumers"],
            "day_generators": s["peers"]["generators"], "day_wall_s": wall, "day_run_wall_s": s["wall_seconds"],
            "day_peak_rss_mb": res["maxrss_mb"], "day_rate_hz_mean": s["rebalance"]["rate_hz_mean"],
            "day_rate_hz_p5": s["rebalance"]["rate_hz_p5"], "day_starved_consumers": s["starvation"]["consumers_starved"],
            "day_blackout_events": s["blackouts"]["events"], "day_run_dir": str(tmp / "run")}


def measure(args: argparse.Namespace) -> dict:
    figures = rebalance.measure(args)
    out = {"prototype_hz": figures["proto_hz_mean"], "prototype_hz_p5": figures["proto_hz_p5"],
           "scale_hz": figures["scale_hz_mean"], "scale_hz_p5": figures["scale_hz_p5"],
           "scale_consumers": args.consumers, "generators": args.generators, "cpu_count": os.cpu_count()}
    if not args.skip_day:
        out.update(_day(args))
    return out


def render(f: dict) -> str:
    lines = [f"Scowl healthy-day benchmark ({f['cpu_count']} cores)", ""]
    lines.append(f"tracker rebalance, prototype workload ({f['generators']} generators, state updates only): "
                 f"{f['prototype_hz']:,.0f} Hz mean, {f['prototype_hz_p5']:,.0f} Hz p5  (target >= 1,000; the gRPC prototype: 0.3-0.7 Hz)")
    lines.append(f"tracker rebalance, {f['generators']} generators with {f['scale_consumers']:,} consumers: "
                 f"{f['scale_hz']:,.1f} Hz mean, {f['scale_hz_p5']:,.1f} Hz p5  (target >= 10 on one core)")
    if "day_wall_s" in f:
        lines.append(f"healthy day at scale {f['day_scale']} ({f['day_consumers']:,} consumers, {f['day_generators']} generators, "
                     f"{f['day_ticks']} ticks): {f['day_wall_s']:,.1f} s wall ({f['day_run_wall_s']:,.1f} s of ticks), "
                     f"peak memory {f['day_peak_rss_mb']:,.0f} MB; rounds {f['day_rate_hz_mean']:,.1f} Hz mean / "
                     f"{f['day_rate_hz_p5']:,.1f} Hz p5; {f['day_starved_consumers']:,} consumers ever starved, "
                     f"{f['day_blackout_events']} blackout events")
    return "\n".join(lines)
