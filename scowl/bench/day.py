"""A whole day, measured: wall time, CPU per role, peak memory per process and summed, and
the day's headline figures (energy books, rebalance rate, starvation, blackouts).

`scowl bench day [--scale S] [--tick-seconds T] [--processes [--layout SPEC]]`: the default
scenario (or --config) at that scale, every role in one child process, or (--processes) in
`scowl-node` processes as `scowl run --processes` starts them, grouped by the process layout
(scowl.run.layout: by default one process per usable core; `--layout actor`: one per actor). Each process is sampled while it
runs (its VmHWM, which starts afresh at exec) and reaped with wait4, so its CPU time is exact.
`--books-against SUMMARY` compares the energy books with another run's summary.json (a pure
performance change must keep demanded, served and unserved within 0.1 %)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scowl.bench import speed
from scowl.bench._watch import Sampler, Watched, kill

#: the issue's targets for the whole state on 2 cores
TARGETS = {"wall_s": 90.0, "rss_sum_mb": 2048.0}
BOOKS = ("demanded", "served", "unserved")
BOOKS_TOLERANCE = 0.001


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default=None, help="scenario: a TOML file or a packaged name (default: ny2030)")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the state (default 1.0: all of New York)")
    parser.add_argument("--tick-seconds", type=int, default=None, help="simulated seconds per tick (default: the scenario's, 300)")
    parser.add_argument("--ticks", type=int, default=None, help="ticks to run (default: the scenario's 24 h)")
    parser.add_argument("--trackers", type=int, default=None, help="tracker count (default: the scenario's)")
    parser.add_argument("--populations", type=int, default=None, help="consumer population actors (default: the plan's choice)")
    parser.add_argument("--processes", action="store_true", help="scowl-node processes (as `scowl run --processes`)")
    parser.add_argument("--layout", default=None, metavar="SPEC",
                        help="with --processes: which actors share a process (auto: one process per usable core, the "
                        "default; N; actor: one per actor; role; or groups 'a,b;c,d'), as `scowl run --layout`")
    parser.add_argument("--transport", default="ipc", choices=("ipc", "tcp"), help="with --processes (default ipc)")
    parser.add_argument("--heartbeat-s", type=float, default=None,
                        help="lockstep deadline of a stage, s (default 600: at full scale, or on a busy machine, a stage "
                             "outlasts the scenario's 2 s and peers would be taken as lost for being slow)")
    parser.add_argument("--out", default=None, help="run directory (default: a fresh temporary directory)")
    parser.add_argument("--books-against", default=None, metavar="SUMMARY",
                        help="a summary.json to compare the energy books with (relative difference, tolerance 0.1 %%)")
    parser.add_argument("--sample-s", type=float, default=0.2, help="how often each process's memory is sampled, s")


def bench_scenario(args: argparse.Namespace, changes: dict):
    """A bench's scenario: --config (a file or a packaged name) with the bench's own `changes`,
    then the `--set KEY=VALUE` overrides `scowl bench` adds to every bench with --config
    (an explicit --set wins; validated like the file)."""
    from scowl.config import default_scenario_path, load_scenario, override, parse_set, resolve_scenario

    sc = load_scenario(resolve_scenario(args.config) if args.config else default_scenario_path())
    return override(sc, {**changes, **dict(parse_set(s) for s in getattr(args, "sets", None) or [])})


def day_scenario(args: argparse.Namespace):
    """The scenario of the day: the config with the command line's changes, then its --set
    overrides (validated again)."""
    changes: dict = {"scenario.scale": float(args.scale)}
    if args.tick_seconds is not None:
        changes["scenario.tick_seconds"] = int(args.tick_seconds)
    if args.ticks is not None:
        changes["scenario.ticks"] = int(args.ticks)
    if args.trackers is not None:
        changes["trackers.count"] = int(args.trackers)
    # a benchmark of the healthy day: a slow stage must not be taken for a lost peer (on a busy
    # machine a scale-1.0 stage outlasts the 2 s default and the day turns into a partitioned one)
    changes["response.heartbeat_timeout_s"] = float(args.heartbeat_s if args.heartbeat_s is not None else 600.0)
    return bench_scenario(args, changes)


# ---------------------------------------------------------------- processes, run and reaped (scowl.bench._watch)


def _run_processes(cfg: Path, run_dir: Path, args: argparse.Namespace, watched: list[Watched]) -> None:
    from scowl.errors import ScowlError
    from scowl.plan import make_plan
    from scowl.run.layout import parse_layout
    from scowl.run.processes import actors_in, process_role, start_nodes
    from scowl.security import enrol_plan

    plan = make_plan(str(cfg), transport=args.transport, populations=args.populations, out_dir=str(run_dir.resolve()))
    plan.layout = parse_layout(args.layout, plan)
    args.layout_groups = plan.processes()
    enrol_plan(plan)
    plan.save(run_dir / "plan.json")
    with Sampler(watched, args.sample_s):
        try:
            # the metronome's progress bar on our stderr; every other node's stderr in the run directory
            start_nodes(plan, run_dir / "plan.json", lambda name, proc: watched.append(Watched(name, process_role(plan, name), proc)),
                        lambda name: None if "metronome" in actors_in(plan, name) else open(run_dir / f"stderr-{name}.log", "w"))
            metronome = next(w for w in watched if "metronome" in actors_in(plan, w.name))
            metronome.reap(block=True)
            if metronome.returncode != 0:
                raise ScowlError(f"the metronome exited with code {metronome.returncode}; see {run_dir}/trace-{metronome.name}.log")
            for w in watched:  # the services are not told the run is over (the peers are): stop them now
                if {"bootstrap", "broker"} & set(actors_in(plan, w.name)) and w.returncode is None:
                    os.killpg(w.proc.pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and not all(w.reap(block=False) for w in watched):
                time.sleep(0.05)
        finally:
            for w in watched:
                if w.returncode is None:
                    try:
                        os.killpg(w.proc.pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not all(w.reap(block=False) for w in watched):
                time.sleep(0.05)
            for w in watched:
                kill(w)
                if w.proc.stdout:
                    w.proc.stdout.close()


def _run_one_process(cfg: Path, run_dir: Path, args: argparse.Namespace, watched: list[Watched]) -> None:
    from scowl.errors import ScowlError

    # the run refuses a run directory that is not empty: the scenario file goes beside it
    moved = run_dir.parent / f".{run_dir.name}-day.toml"
    cfg.replace(moved)
    code = ("import sys; from scowl.run import run_scenario; "
            "run_scenario(sys.argv[1], sys.argv[2], show_progress=True, populations=int(sys.argv[3]) or None)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(moved), str(run_dir), str(args.populations or 0)],
                            stdout=subprocess.DEVNULL, start_new_session=True)
    w = Watched("run", "all", proc)
    watched.append(w)
    with Sampler(watched, args.sample_s):
        try:
            w.reap(block=True)
        finally:
            kill(w)
            moved.replace(cfg)  # the scenario of the day, kept with its results
    if w.returncode != 0:
        raise ScowlError(f"the day exited with code {w.returncode}; see {run_dir}/trace-run.log")


# ---------------------------------------------------------------- figures


def books_against(summary: dict, other_path: str) -> dict:
    """Relative differences of the energy books against another run's summary.json."""
    other = json.loads(Path(other_path).read_text())
    out: dict = {"against": str(other_path), "tolerance": BOOKS_TOLERANCE}
    worst = 0.0
    for key in BOOKS:
        a, b = float(other["energy_mwh"][key]), float(summary["energy_mwh"][key])
        rel = (b - a) / abs(a) if a else (0.0 if b == 0 else float("inf"))
        out[key] = {"before": a, "after": b, "relative": rel}
        if key != "unserved":
            worst = max(worst, abs(rel))
        else:  # unserved is a small difference of large numbers: also within 0.1 % of demand
            worst = max(worst, min(abs(rel), abs(b - a) / max(1e-9, float(other["energy_mwh"]["demanded"]))))
    out["worst"] = worst
    out["holds"] = worst <= BOOKS_TOLERANCE
    return out


def measure(args: argparse.Namespace) -> dict:
    from scowl.provenance import git_commit, machine_info
    from scowl.sweep import scenario_toml

    sc = day_scenario(args)
    run_dir = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="scowl-bench-day-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in run_dir.glob("trace-*.log"):
        stale.unlink()
    cfg = run_dir / "day.toml"
    cfg.write_text(scenario_toml(sc))
    load_before = speed.loadavg()
    ref_before = speed.reference_s()  # (before the run, on a machine the run has not yet warmed)
    cpu_before = speed.cpu_times()
    watched: list[Watched] = []
    t0 = time.perf_counter()
    (_run_processes if args.processes else _run_one_process)(cfg, run_dir, args, watched)
    wall = time.perf_counter() - t0
    cpu_after = speed.cpu_times()
    summary = json.loads((run_dir / "summary.json").read_text())
    finals = json.loads((run_dir / "finals.json").read_text()) if (run_dir / "finals.json").exists() else {}
    procs: list[dict[str, Any]] = []
    for w in watched:
        # an actor's own VmHWM at the end of the run, if it is higher than what sampling saw
        rss = max(w.rss_peak_mb, float(finals.get(w.name, {}).get("rss_peak_mb", 0.0)))
        if rss == 0.0:
            rss = w.maxrss_mb
        procs.append({"name": w.name, "role": w.role, "cpu_s": round(w.cpu_s or 0.0, 2), "rss_peak_mb": round(rss, 1),
                      "returncode": w.returncode, "actors": getattr(args, "layout_groups", {}).get(w.name, [w.name])})
    per_consumer(run_dir, procs)
    roles: dict[str, dict[str, Any]] = {}
    for p in procs:
        r = roles.setdefault(p["role"], {"processes": 0, "cpu_s": 0.0, "rss_peak_mb_sum": 0.0, "rss_peak_mb_max": 0.0})
        r["processes"] += 1
        r["cpu_s"] = round(r["cpu_s"] + p["cpu_s"], 2)
        r["rss_peak_mb_sum"] = round(r["rss_peak_mb_sum"] + p["rss_peak_mb"], 1)
        r["rss_peak_mb_max"] = max(r["rss_peak_mb_max"], p["rss_peak_mb"])
    for r in roles.values():
        r["cpu_pct_of_wall"] = round(100.0 * r["cpu_s"] / wall, 1) if wall else 0.0
    cpu_total = sum(p["cpu_s"] for p in procs)
    e, reb = summary["energy_mwh"], summary["rebalance"]
    figures = {
        "machine": {**machine_info(), "loadavg_before": load_before, "loadavg_after": speed.loadavg(),
                    "reference_s_before": ref_before, "reference_s_after": speed.reference_s(),
                    "steal_pct": speed.steal_pct(cpu_before, cpu_after)},
        "commit": git_commit(),
        "command": " ".join(["scowl bench day", *sys.argv[3:]]) if sys.argv[1:3] == ["bench", "day"] else "scowl bench day",
        "mode": "processes" if args.processes else "one process",
        "layout": {"spec": (args.layout or "auto") if args.processes else "one process",
                   "processes": getattr(args, "layout_groups", None) or {"run": ["every actor"]}},
        "scale": sc.scenario.scale,
        "tick_seconds": sc.tick_seconds,
        "ticks": summary["ticks"],
        "consumers": summary["peers"]["consumers"],
        "fixed_load_blocks": summary["peers"].get("fixed_load_blocks", 0),  # (held as consumers are: actors' `consumers` count them)
        "generators": summary["peers"]["generators"],
        "trackers": summary["peers"]["trackers"],
        "populations": summary["peers"]["consumer_populations"],
        "evs": summary.get("storage", {}).get("evs", 0),
        "wall_s": round(wall, 2),
        "ticks_wall_s": round(float(summary["wall_seconds"]), 2),
        "cpu_s": round(cpu_total, 2),
        "cpu_pct_of_wall": round(100.0 * cpu_total / wall, 1) if wall else 0.0,
        "rss_sum_mb": round(sum(p["rss_peak_mb"] for p in procs), 1),
        "rss_max_mb": max((p["rss_peak_mb"] for p in procs), default=0.0),
        "roles": roles,
        "processes": procs,
        "energy_mwh": {k: e[k] for k in ("demanded", "served", "unserved", "generated", "storage_charged")},
        "rate_hz_mean": reb["rate_hz_mean"],
        "rate_hz_p5": reb["rate_hz_p5"],
        "round_ms_mean": reb["round_ms_mean"],
        "round_ms_max": reb["round_ms_max"],
        "peers_rebalanced": reb["peers_rebalanced"],
        "consumers_starved": summary["starvation"]["consumers_starved"],
        "blackout_events": summary["blackouts"]["events"],
        "tick_wall_ms": summary.get("tick_wall_ms", {}),
        "targets": TARGETS,
        "run_dir": str(run_dir),
    }
    if args.books_against:
        figures["books"] = books_against(summary, args.books_against)
    return figures


def per_consumer(run_dir: Path, procs: list[dict[str, Any]]) -> None:
    """A process of trackers only or of populations only: its peak RSS in bytes a consumer its
    actors held when that peak was reached (issue 15's target: 64 B all-in). At each tick of the
    state log where its VmHWM rose, the new peak over the consumers held then (a tracker's region,
    a population's consumers: both count fixed-load blocks, held as consumers are); the figure is
    the largest of those (`rss_b_per_consumer`, at `peak_tick` holding `consumers_at_peak`): a peak
    reached while the region was small counts against that size, not the day's largest."""
    from scowl.statelog import read_state_log

    try:
        state = read_state_log(run_dir)
    except Exception:  # (no state log: no figure)
        return
    for p in procs:
        rows = state[state["actor"].isin(p["actors"])]
        roles = set(rows["role"])
        if rows.empty or not (roles <= {"tracker"} or roles <= {"consumer"}) or rows["consumers"].isna().all():
            continue
        by_tick = rows.groupby("tick").agg(rss=("rss_peak_mb", "max"), held=("consumers", "sum")).sort_index()
        rose = by_tick[(by_tick["rss"] > by_tick["rss"].cummax().shift(fill_value=0.0)) & (by_tick["held"] > 0)]
        if rose.empty:
            continue
        ratio = rose["rss"] * 2**20 / rose["held"]
        tick = ratio.idxmax()
        p["peak_tick"], p["consumers_at_peak"] = int(tick), int(rose["held"].loc[tick])
        p["rss_b_per_consumer"] = round(float(ratio.loc[tick]), 1)


def _layout_line(layout: dict) -> str:
    return f"layout {layout['spec']}: {len(layout['processes'])} processes: " + " | ".join(
        name if actors == [name] else f"{name} ({', '.join(actors)})" for name, actors in layout["processes"].items())


def _speed_line(m: dict) -> str:
    """The machine's speed beside the figures (scowl.bench.speed): runs compare only where it is alike."""
    if "reference_s_before" not in m:
        return "machine speed: not measured"
    steal = "unknown" if m.get("steal_pct") is None else f"{m['steal_pct']:.1f} %"
    return (f"machine speed: reference workload {m['reference_s_before']:.3f} s before, {m['reference_s_after']:.3f} s after "
            f"(scowl.bench.speed; lower is faster: compare runs only where it is alike); CPU stolen by the hypervisor "
            f"during the run: {steal}")


def render(f: dict) -> str:
    m = f["machine"]
    lines = [(f"Scowl day benchmark: {m['cores']} cores, {m['memory_gb']} GB, {m['cpu']}, Python {m['python']}; "
             f"load average {' '.join(f'{x:.2f}' for x in m['loadavg_before'])} before, "
             f"{' '.join(f'{x:.2f}' for x in m['loadavg_after'])} after; {f['commit']}"),
             _speed_line(m),
             f"{f['command']}  ({f['mode']})",
             _layout_line(f.get("layout", {"spec": "?", "processes": {}})),
             "",
             (f"day: scale {f['scale']:g}, {f['consumers']:,} consumers (+ {f.get('fixed_load_blocks', 0):,} fixed-load blocks), {f['generators']} generators, {f['evs']:,} EVs, "
             f"{f['trackers']} trackers, {f['populations']} populations, {f['ticks']} ticks of {f['tick_seconds']} s"),
             f"wall: {f['wall_s']:,.1f} s ({f['ticks_wall_s']:,.1f} s of ticks; target <= {f['targets']['wall_s']:g} s at scale 1)",
             f"CPU: {f['cpu_s']:,.1f} s ({f['cpu_pct_of_wall']:.0f} % of wall)",
             (f"peak memory: {f['rss_sum_mb']:,.0f} MB summed over {len(f['processes'])} processes, largest "
             f"{f['rss_max_mb']:,.0f} MB (target <= {f['targets']['rss_sum_mb']:,.0f} MB summed at scale 1)"), ""]
    if any(len(p.get("actors", [])) > 1 for p in f["processes"]):  # roles share processes: a row per process
        lines.append(f"{'process':<10} {'CPU s':>9} {'% wall':>7} {'RSS MB':>9}  actors")
        for p in f["processes"]:
            share = 100.0 * p["cpu_s"] / f["wall_s"] if f["wall_s"] else 0.0
            lines.append(f"{p['name']:<10} {p['cpu_s']:>9,.1f} {share:>7.1f} {p['rss_peak_mb']:>9,.0f}  {', '.join(p['actors'])}")
    else:
        lines.append(f"{'role':<10} {'procs':>5} {'CPU s':>9} {'% wall':>7} {'RSS sum MB':>11} {'RSS max MB':>11}")
        for role, r in sorted(f["roles"].items(), key=lambda kv: -kv[1]["cpu_s"]):
            lines.append(f"{role:<10} {r['processes']:>5} {r['cpu_s']:>9,.1f} {r['cpu_pct_of_wall']:>7.1f} "
                         f"{r['rss_peak_mb_sum']:>11,.0f} {r['rss_peak_mb_max']:>11,.0f}")
    for p in f["processes"]:
        if p.get("rss_b_per_consumer"):
            lines.append(f"{p['name']}: {p['rss_b_per_consumer']:,.1f} B a consumer all-in (target <= 64): its peak RSS at "
                         f"tick {p['peak_tick']} over the {p['consumers_at_peak']:,} consumers and fixed-load blocks it held then (peak {p['rss_peak_mb']:,.1f} MB)")
    e = f["energy_mwh"]
    lines += ["", (f"energy (MWh): demanded {e['demanded']:,.1f}, served {e['served']:,.1f}, unserved {e['unserved']:,.2f}, "
                  f"generated {e['generated']:,.1f}, storage charged {e['storage_charged']:,.1f}"),
              (f"rounds: {f['rate_hz_mean']:,.1f} Hz mean, {f['rate_hz_p5']:,.1f} Hz p5, {f['round_ms_mean']:,.1f} ms mean, "
              f"{f['round_ms_max']:,.0f} ms max; {f['peers_rebalanced']:,} consumers moved"),
              f"{f['consumers_starved']:,} consumers ever starved, {f['blackout_events']} blackout events",
              f"run directory: {f['run_dir']}"]
    if "books" in f:
        b = f["books"]
        lines.append(f"energy books against {b['against']}: " + ", ".join(
            f"{k} {100 * b[k]['relative']:+.4f} %" for k in BOOKS) + f" -> {'hold' if b['holds'] else 'DO NOT HOLD'} "
            f"(tolerance {100 * b['tolerance']:g} %)")
    return "\n".join(lines)
