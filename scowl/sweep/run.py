"""The sweep: every (scale, trackers) point as its own run, then the bound, the shard plan and
its confirming runs; sweep.csv, sweep.json and the plots."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from scowl.analysis.bound import find_bound
from scowl.analysis.measure import measure_run
from scowl.analysis.shard import confirm_plan, default_target_hz, shard_plan
from scowl.config import load_scenario
from scowl.provenance import git_commit, machine_info
from scowl.report import plots
from scowl.sweep.points import point_scenario, run_point, scenario_toml

DEFAULT_SCALE_FACTORS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # times the config's own scale
DEFAULT_TRACKERS = (1, 4)


def _rss_total(rows: list[dict]) -> float:
    if rows and rows[0]["mode"] == "in-process":
        return max(r["rss_peak_mb_max"] for r in rows)
    return sum(r["rss_peak_mb_sum"] for r in rows)


def _label(scale: float, trackers: int) -> str:
    return f"scale{scale:g}-t{trackers}"


def sweep(config: str, out: Path, *, scales, trackers, ticks: int | None, processes: bool,
          target_hz: float | None, target_scale: float | None, confirm: bool = True, say=print) -> dict:
    """Run every (scale, trackers) point, then the bound and the shard plan (and its confirming run).
    Writes OUT/sweep.csv, OUT/sweep.json, OUT/*.png; run directories under OUT/runs/."""
    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    base = load_scenario(config)
    machine = machine_info()
    machine["load_avg_1m_start"] = round(os.getloadavg()[0], 2)  # other work on the machine, for reading the CPU figures
    memory_mb = machine["memory_gb"] * 1024
    points = [(float(s), int(t)) for t in trackers for s in scales]
    rows: list[dict] = []
    t_start = time.perf_counter()

    def do_point(i: int, n: int, scale: float, tr: int, tag: str = "") -> list[dict]:
        label = _label(scale, tr) + tag
        cfg = out / "runs" / f"{label}.toml"
        sc = point_scenario(config, scale, tr, ticks)
        cfg.write_text(scenario_toml(sc))
        run_dir = out / "runs" / label
        t0 = time.perf_counter()
        sampled = run_point(cfg, run_dir, processes=processes)
        if sampled["returncode"] != 0:
            say(f"[{i}/{n}] {label}: FAILED (exit {sampled['returncode']}): {sampled.get('error', '')[-400:]}")
            return []
        got = measure_run(run_dir, sampled)
        for r in got:
            r["scale"] = scale
            r["command"] = sampled["command"]
        r0 = got[0]
        cpu = ", ".join(f"{r['role']} {r['cpu_pct_ticks']:.0f}%" for r in got) if r0["mode"] == "processes" else f"process {r0['run_cpu_pct']:.0f}%"
        say(f"[{i}/{n}] {label}: {r0['peers']:,} peers, {r0['ticks']} ticks in {r0['wall_s']:.1f} s "
            f"({r0['tick_ms']:.0f} ms/tick), rebalance {r0['rate_hz_mean']:,.1f} Hz, "
            f"{r0['consumers_rounded_per_s']:,.0f} consumers/s per tracker, tracker busy {r0['tracker_busy_pct_max']:.0f}%, "
            f"CPU {cpu}, RSS {_rss_total(got):,.0f} MB  [{time.perf_counter() - t0:.0f} s, "
            f"total {time.perf_counter() - t_start:.0f} s]")
        return got

    for i, (scale, tr) in enumerate(points, 1):
        rows += do_point(i, len(points), scale, tr)
    table = pd.DataFrame(rows)
    if table.empty:
        raise RuntimeError("no sweep point finished")
    heartbeat = base.response.heartbeat_timeout_s
    bound = find_bound(table, memory_mb, heartbeat)
    say("\nLIMITING RESOURCE: " + bound["text"])

    consumers_per_scale = float(np.median(table["consumers"] / table["scale"]))
    target_scale = target_scale or float(max(scales))
    if target_hz is None:
        target_hz = default_target_hz(table, target_scale)
    shard = shard_plan(table, target_hz, int(round(consumers_per_scale * target_scale)))
    shard["target_scale"] = target_scale
    if shard.get("ok"):
        say("WHEN TO SHARD: " + shard["text"])
        if confirm:
            table, shard["confirm_attempts"] = confirm_plan(do_point, table, target_scale, shard, say)
            if shard["confirm_attempts"]:
                shard["confirm"] = shard["confirm_attempts"][-1]
    else:
        say("WHEN TO SHARD: " + shard.get("why", "no plan"))
    if "confirm" not in table:
        table["confirm"] = False
    table["confirm"] = table["confirm"].fillna(False).astype(bool)
    table.to_csv(out / "sweep.csv", index=False)
    cmd = (f"scowl sweep {config} --out {out} --scales {' '.join(f'{s:g}' for s in scales)} "
           f"--trackers {' '.join(str(t) for t in trackers)}" + (f" --ticks {ticks}" if ticks else "")
           + (" --processes" if processes else "") + f" --target-hz {target_hz:g} --target-scale {target_scale:g}")
    meta = {"config": str(config), "scenario": base.scenario.name, "seed": base.seed, "base_scale": base.scenario.scale,
            "scales": list(scales), "trackers": list(trackers), "ticks": ticks or base.ticks, "processes": processes,
            "machine": {**machine, "load_avg_1m_end": round(os.getloadavg()[0], 2)}, "version": git_commit(), "command": cmd, "bound": bound, "shard": shard,
            "consumers_per_scale": consumers_per_scale, "heartbeat_timeout_s": heartbeat,
            "elapsed_s": time.perf_counter() - t_start}
    (out / "sweep.json").write_text(json.dumps(meta, indent=1, default=float))
    plots.sweep_plots(table, meta, out)
    return meta
