"""Grid model: time and peak memory to build the state of a scenario (default: all of New York,
scale 1.0) and to step its demand and supply through one tick; bytes of state per consumer."""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import psutil


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="scenario: a TOML file or a packaged name (default: ny2030)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the state to build (default 1.0)")
    parser.add_argument("--tick", type=int, default=None, help="tick to step (default: the analytic peak tick)")


def _timed(fn):
    gc.collect()
    rss0 = psutil.Process().memory_info().rss
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss1 = psutil.Process().memory_info().rss
    return out, dt, peak, rss1 - rss0


def model_scenario(args: argparse.Namespace):
    """The scenario to build: the config at --scale, then its --set overrides."""
    from scowl.bench.day import bench_scenario

    return bench_scenario(args, {"scenario.scale": args.scale})


def measure(args: argparse.Namespace) -> dict:
    import numpy as np

    from scowl.model import build_grid, expected_demand_mw

    scenario = model_scenario(args)
    rss_start = psutil.Process().memory_info().rss
    grid, t_build, peak_build, rss_build = _timed(lambda: build_grid(scenario))
    supply, t_supply, peak_supply, _ = _timed(grid.supply)
    tick = args.tick if args.tick is not None else int(np.argmax(expected_demand_mw(scenario)["total"]))
    demand = grid.demand(start_tick=tick - 1)
    demand.step(tick - 1)  # draws the initial state; the timed step is an ordinary one
    kw, t_step, peak_step, _ = _timed(lambda: demand.step(tick))
    avail, t_avail, _, _ = _timed(lambda: supply.available(tick).copy())
    n = len(grid.consumers)
    return {
        "scenario": scenario.scenario.name,
        "scale": scenario.scenario.scale,
        "consumers": n,
        "generators": len(grid.generators),
        "evs": len(grid.storage),
        "build_s": t_build,
        "build_peak_mb": peak_build / 1e6,
        "build_rss_mb": rss_build / 1e6,
        "supply_day_s": t_supply,
        "supply_peak_mb": peak_supply / 1e6,
        "step_tick": tick,
        "demand_step_s": t_step,
        "demand_step_peak_mb": peak_step / 1e6,
        "supply_step_s": t_avail,
        "demand_mw": float(kw.sum(dtype=np.float64) / 1000.0 + grid.fixed_loads.total_mw),
        "available_mw": float(avail.sum()),
        "bytes_per_consumer": grid.bytes_per_consumer(demand),
        "state_mb": (grid.consumers.nbytes + grid.storage.nbytes + demand.nbytes + grid.generators.nbytes) / 1e6,
        "rss_mb": psutil.Process().memory_info().rss / 1e6,
        "rss_start_mb": rss_start / 1e6,
    }


def render(f: dict) -> str:
    return "\n".join([
        f"grid model, {f['scenario']} at scale {f['scale']:g}: {f['consumers']:,} consumers, {f['generators']:,} generators, {f['evs']:,} EVs",
        f"  build state           {f['build_s']:8.3f} s   peak {f['build_peak_mb']:8.1f} MB (tracemalloc), RSS +{f['build_rss_mb']:.1f} MB",
        f"  supply, whole day     {f['supply_day_s']:8.3f} s   peak {f['supply_peak_mb']:8.1f} MB",
        f"  demand, one tick      {f['demand_step_s']:8.3f} s   peak {f['demand_step_peak_mb']:8.1f} MB   (tick {f['step_tick']}: {f['demand_mw']:,.1f} MW)",
        f"  supply, one tick      {f['supply_step_s']:8.6f} s                       ({f['available_mw']:,.1f} MW available)",
        f"  state                 {f['state_mb']:8.1f} MB = {f['bytes_per_consumer']:.1f} bytes per consumer (limit 64); process RSS {f['rss_mb']:.0f} MB",
    ])
