"""Scale sweep: run a scenario at increasing scale and tracker counts, measure every run per
role, name the resource that bound first, and say when to shard.

Each sweep point is its own `scowl run` subprocess (so peak memory and CPU belong to that run
alone). While it runs, the sweep samples the CPU times of the run's process tree at the first
and the last tick (psutil), so CPU % of a core is measured over the ticks only, not over start-up.
Everything else comes from what the run leaves: summary.json, finals.json and state.parquet.

Pure analysis (`measure_run`, `find_bound`, `shard_plan`) is separate from running, so tests
and `scowl report` can recompute it from the run directories.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from scowl.config import load_scenario, override

#: Defaults for `scowl sweep`: four orders of magnitude of scale (small.toml: ~360 to ~3.6M consumers).
DEFAULT_SCALE_FACTORS = (0.1, 1.0, 10.0, 100.0, 1000.0)  # times the config's own scale
DEFAULT_TRACKERS = (1, 4)
CPU_BOUND = 0.80  # a process busy this share of one core during the ticks is CPU-bound
MEMORY_BOUND = 0.80  # of the machine's memory
FRAME_BOUND = 0.50  # mean message on a link this share of the wire's largest frame
LAG_BOUND = 0.50  # event-loop lag this share of the heartbeat timeout
FIT_SPAN = 10.0  # the round cost is fitted over runs within this factor of the largest tracker load
CONFIRM_RUNS = 3  # at most this many confirming runs, each refitted with the ones before it


# ---------------------------------------------------------------- scenario files

def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {v!r} as TOML")


def scenario_toml(scenario) -> str:
    """A scenario as a TOML file `load_scenario` reads back to the same Scenario."""
    lines = [f"# written by scowl sweep from {scenario.source}"]
    for section, table in scenario.to_dict().items():
        lines.append(f"[{section}]")
        arrays = []
        for k, v in table.items():
            if isinstance(v, list) and v and isinstance(v[0], dict):
                arrays.append((k, v))
            else:
                lines.append(f"{k} = {_toml_value(v)}")
        for k, items in arrays:
            for item in items:
                lines.append(f"[[{section}.{k}]]")
                lines.extend(f"{kk} = {_toml_value(vv)}" for kk, vv in item.items())
        lines.append("")
    return "\n".join(lines)


def point_scenario(config: str, scale: float, trackers: int, ticks: int | None):
    changes: dict = {"scenario.scale": float(scale), "trackers.count": int(trackers)}
    if ticks:
        changes["scenario.ticks"] = int(ticks)
    return override(load_scenario(config), changes)


# ---------------------------------------------------------------- machine

def machine_info() -> dict:
    import platform

    import psutil

    return {
        "cores": os.cpu_count() or 1,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def git_commit(root: Path | None = None) -> str:
    root = root or Path(__file__).resolve().parent.parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    return out.stdout.strip() + (" (with uncommitted changes)" if dirty.stdout.strip() else "")


# ---------------------------------------------------------------- one run, sampled

_TICKS_LINE = re.compile(r"\] (\d+)/(\d+) ticks")


def _tree_cpu(pid: int) -> dict[str, tuple[float, str]]:
    """CPU seconds (user+sys) of a process and its descendants, keyed by pid, with an actor name."""
    import psutil

    out: dict[str, tuple[float, str]] = {}
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return out
    for p in procs:
        try:
            t = p.cpu_times()
            cmd = p.cmdline()
        except psutil.Error:
            continue
        # a scowl-node process runs the actors named by --name (comma-separated); the parent is "run"
        name = cmd[cmd.index("--name") + 1] if "--name" in cmd and cmd.index("--name") + 1 < len(cmd) else "run"
        out[str(p.pid)] = (t.user + t.system, name)
    return out


def run_point(config_path: Path, out_dir: Path, *, processes: bool = False, log=None) -> dict:
    """`scowl run CONFIG --out DIR` in a subprocess; returns CPU sampled over its ticks:
    {"window_s", "cpu_pct": {actor or "run": % of one core}} plus the exit code."""
    cmd = [sys.executable, "-m", "scowl", "run", str(config_path), "--out", str(out_dir)]
    if processes:
        cmd += ["--processes", "--transport", "ipc"]
    first = last = None
    err_tail: list[str] = []
    # stdout (the run's summary table, a few kB) is read after stderr closes; the pipes close with the block
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        for line in proc.stderr:
            m = _TICKS_LINE.search(line)
            if m:
                done, total = int(m.group(1)), int(m.group(2))
                if first is None:
                    first = (time.perf_counter(), _tree_cpu(proc.pid))
                if done == total:
                    last = (time.perf_counter(), _tree_cpu(proc.pid))
            else:
                err_tail = (err_tail + [line.rstrip()])[-20:]
        stdout = proc.stdout.read()
        rc = proc.wait()
    sampled: dict = {"returncode": rc, "command": " ".join(cmd), "window_s": 0.0, "cpu_pct": {}}
    if rc != 0:
        sampled["error"] = "\n".join(err_tail) or stdout[-2000:]
        return sampled
    if first and last and last[0] > first[0]:
        window = last[0] - first[0]
        sampled.update(window_s=window, cpu_pct=cpu_by_actor(first[1], last[1], window))
    return sampled


def cpu_by_actor(first: dict[str, tuple[float, str]], last: dict[str, tuple[float, str]], window_s: float) -> dict[str, float]:
    """% of one core each actor's process used between two samples ({pid: (cpu seconds, names)});
    every actor of a multi-actor process ("tracker-0,tracker-1") is credited with its process."""
    cpu: dict[str, float] = {}
    for pid, (t1, names) in last.items():
        if pid in first:
            for name in names.split(","):
                cpu[name] = max(cpu.get(name, 0.0), 100.0 * (t1 - first[pid][0]) / window_s)
    return cpu


# ---------------------------------------------------------------- measuring a finished run

def _links(final: dict) -> dict[str, tuple[float, float]]:
    """Outgoing links of one actor: peer -> (messages, bytes); pub/sub pseudo-links left out."""
    out = {}
    for k, v in final.items():
        if k.startswith("link_out_msgs:") and not k[len("link_out_msgs:"):].startswith("sub:"):
            peer = k[len("link_out_msgs:"):]
            out[peer] = (float(v), float(final.get(f"link_out_bytes:{peer}", 0.0)))
    return out


_OVERSIZED = re.compile(r"(\S+): rejected a frame from (\S+): oversized \((\d+) bytes > (\d+)\)")


def oversized_frames(run_dir) -> dict[str, int]:
    """Largest frame each sender had rejected as oversized, in bytes, from the run's trace logs
    (an actor logs its first rejection per sender and reason; finals count them without the reason)."""
    out: dict[str, int] = {}
    for log in sorted(Path(run_dir).glob("trace-*.log")):
        for m in _OVERSIZED.finditer(log.read_text(errors="replace")):
            out[m.group(2)] = max(out.get(m.group(2), 0), int(m.group(3)))
    return out


def measure_run(run_dir, sampled: dict | None = None) -> list[dict]:
    """One row per role of a finished run: the rates, CPU, memory, wire, loop lag and tick latency."""
    from scowl.results import load_run
    from scowl.wire import MAX_FRAME_BYTES

    run_dir = Path(run_dir)
    state, finals, s = load_run(run_dir)
    sampled = sampled or {}
    cpu_sampled = sampled.get("cpu_pct", {})
    wall = float(s["wall_seconds"]) or float("nan")
    ticks = max(1, int(s["ticks"]))
    peers = s["peers"]
    n_tr = max(1, int(peers.get("trackers", 1)))
    reb = s["rebalance"]
    tr = state[state["role"] == "tracker"]
    per_tracker_busy = (tr.groupby("actor")["round_s"].sum() / wall) if len(tr) else pd.Series(dtype=float)
    tracker_consumers = float(tr.groupby("actor")["consumers"].mean().mean()) if len(tr) and "consumers" in tr else float(peers.get("consumers", 0)) / n_tr
    # every actor in the one `scowl run` process (inproc) or one scowl-node process per actor
    in_process = s.get("transport") == "inproc"
    run_cpu = cpu_sampled.get("run")
    base = {
        "run": run_dir.name,
        "run_dir": str(run_dir),
        "scale": float(s.get("scale", float("nan"))) if "scale" in s else float("nan"),
        "trackers": n_tr,
        "ticks": ticks,
        "consumers": int(peers.get("consumers", 0)),
        "generators": int(peers.get("generators", 0)),
        "peers": int(peers.get("consumers", 0)) + int(peers.get("generators", 0)),
        "consumers_per_tracker": tracker_consumers,
        "mode": "in-process" if in_process else "processes",
        "wall_s": wall,
        "tick_ms": 1e3 * wall / ticks,
        "rate_hz_mean": float(reb["rate_hz_mean"]),
        "rate_hz_p5": float(reb["rate_hz_p5"]),
        "round_ms_mean": float(reb["round_ms_mean"]),
        "round_ms_max": float(reb["round_ms_max"]),
        "peers_rebalanced": int(reb["peers_rebalanced"]),
        "peers_rebalanced_per_s": float(reb["peers_rebalanced_per_s"]),
        "consumers_rounded_per_s": float(tracker_consumers * reb["rate_hz_mean"]),
        "tracker_busy_pct_max": float(100 * per_tracker_busy.max()) if len(per_tracker_busy) else 0.0,
        "tracker_busy_pct_sum": float(100 * per_tracker_busy.sum()) if len(per_tracker_busy) else 0.0,
        "served_share": float(s["energy_mwh"]["served"] / s["energy_mwh"]["demanded"]) if s["energy_mwh"]["demanded"] else float("nan"),
        "cpu_window_s": float(sampled.get("window_s", 0.0)),
        "run_cpu_pct": float(run_cpu) if run_cpu is not None else float("nan"),
    }
    oversized = oversized_frames(run_dir)
    rows = []
    roles = sorted({f.get("role", "?") for f in finals.values()})
    for role in roles:
        names = [n for n, f in finals.items() if f.get("role") == role]
        fs = [finals[n] for n in names]
        links = [(n, peer, m, b) for n in names for peer, (m, b) in _links(finals[n]).items()]
        big = max(links, key=lambda x: x[3], default=(None, None, 0.0, 0.0))
        biggest_msg = max(((b / m) if m else 0.0 for _, _, m, b in links), default=0.0)
        bytes_sent = sum(float(f.get("msg_bytes_sent", 0.0)) for f in fs)
        if in_process:
            cpu_pct = float(run_cpu) if run_cpu is not None else float("nan")
        else:
            vals = [cpu_sampled[n] for n in names if n in cpu_sampled]
            cpu_pct = max(vals) if vals else float("nan")
        cpu_s = [float(f.get("cpu_user_s", 0.0)) + float(f.get("cpu_sys_s", 0.0)) for f in fs]
        rows.append({
            **base,
            "role": role,
            "actors": len(names),
            "cpu_s_max": max(cpu_s) if cpu_s else 0.0,
            "cpu_user_s_max": max((float(f.get("cpu_user_s", 0.0)) for f in fs), default=0.0),
            "cpu_sys_s_max": max((float(f.get("cpu_sys_s", 0.0)) for f in fs), default=0.0),
            "cpu_pct_of_wall": 100 * max(cpu_s) / wall if cpu_s and wall else float("nan"),  # whole process life / wall of the ticks
            "cpu_pct_ticks": cpu_pct,  # sampled over the ticks only
            "rss_peak_mb_max": max((float(f.get("rss_peak_mb", 0.0)) for f in fs), default=0.0),
            "rss_peak_mb_sum": sum(float(f.get("rss_peak_mb", 0.0)) for f in fs),
            "msgs_sent": sum(float(f.get("msg_sent", 0.0)) for f in fs),
            "msgs_received": sum(float(f.get("msg_received", 0.0)) for f in fs),
            "bytes_sent": bytes_sent,
            "bytes_received": sum(float(f.get("msg_bytes_received", 0.0)) for f in fs),
            "mb_sent_per_s": bytes_sent / wall / 1e6 if wall else float("nan"),
            "busiest_link": f"{big[0]}->{big[1]}" if big[0] else "",
            "busiest_link_mb": big[3] / 1e6,
            "busiest_link_mb_per_tick": big[3] / 1e6 / ticks,
            "mean_msg_mb_max": biggest_msg / 1e6,
            "frame_share": biggest_msg / MAX_FRAME_BYTES,
            "msgs_rejected": sum(float(f.get("msg_rejected", 0.0)) for f in fs),  # any reason, by its receivers
            "oversized_frame_mb": max((oversized.get(n, 0) for n in names), default=0) / 1e6,  # sent by this role
            "loop_lag_ms_mean": max((float(f.get("loop_lag_ms_mean", 0.0)) for f in fs), default=0.0),
            "loop_lag_ms_max": max((float(f.get("loop_lag_ms_max", 0.0)) for f in fs), default=0.0),
        })
    return rows


# ---------------------------------------------------------------- limiting resource

@dataclass
class Finding:
    resource: str
    role: str
    utilization: float  # share of its capacity (1.0 = saturated)
    evidence: str


def run_findings(run: pd.DataFrame, memory_mb: float, heartbeat_s: float) -> list[Finding]:
    """Every resource of one run with its utilization; `run` is that run's rows (one per role)."""
    r0 = run.iloc[0]
    out: list[Finding] = []
    if r0["mode"] == "in-process":
        # one process on one core: a round is synchronous, so the trackers' round time over the
        # wall time is their share of the core; the rest of the process's measured CPU is
        # everything else. No CPU sample (the run was too short to sample): no CPU finding.
        if not math.isnan(r0["run_cpu_pct"]):
            cpu = r0["run_cpu_pct"] / 100
            tshare = min(cpu, r0["tracker_busy_pct_sum"] / 100)
            out.append(Finding("CPU", "tracker", tshare,
                               f"tracker rounds take {100 * tshare:.0f} % of the wall time of the ticks "
                               f"(the one process at {100 * cpu:.0f} % of a core)"))
            out.append(Finding("CPU", "consumer+generator+messaging", cpu - tshare,
                               f"populations, fleets, metronome and messaging take {100 * (cpu - tshare):.0f} % of a core "
                               f"(the one process at {100 * cpu:.0f} %, trackers {100 * tshare:.0f} %)"))
    else:
        others = {row.role: row.cpu_pct_ticks for row in run.itertuples() if not math.isnan(row.cpu_pct_ticks)}
        for row in run.itertuples():
            if math.isnan(row.cpu_pct_ticks):
                continue
            rest = ", ".join(f"{k} {v:.0f} %" for k, v in sorted(others.items()) if k != row.role)
            out.append(Finding("CPU", row.role, row.cpu_pct_ticks / 100,
                               f"busiest {row.role} process at {row.cpu_pct_ticks:.0f} % of a core over the ticks (others: {rest})"))
    # in one process every role reports the same process: count it once
    rss = run["rss_peak_mb_max"].max() if r0["mode"] == "in-process" else run["rss_peak_mb_sum"].sum()
    out.append(Finding("memory", "all", rss / memory_mb if memory_mb else 0.0,
                       f"peak RSS {rss:,.0f} MB of {memory_mb:,.0f} MB"))
    from scowl.wire import MAX_FRAME_BYTES

    frame_mb = MAX_FRAME_BYTES / 1e6
    # a frame the receiver rejected as oversized is the limit reached; else the mean message's share of it
    over = run["oversized_frame_mb"] if "oversized_frame_mb" in run else pd.Series(0.0, index=run.index)
    size_share = np.maximum(run["frame_share"].to_numpy(float), over.to_numpy(float) / frame_mb)
    w = run.iloc[int(np.argmax(size_share))]
    wo = float(over.loc[w.name])
    out.append(Finding("network (message size)", w["role"], float(size_share.max()),
                       f"{w['role']} sends messages of {w['mean_msg_mb_max']:.1f} MB on average on its biggest link "
                       f"({w['busiest_link']}, {w['busiest_link_mb_per_tick']:.1f} MB per tick) against a frame limit of {frame_mb:.1f} MB"
                       + (f"; a {wo:.1f} MB frame it sent was rejected as oversized" if wo else "")
                       + f"; {int(run['msgs_rejected'].sum())} messages rejected in all (any reason)"))
    lagrow = run.loc[run["loop_lag_ms_max"].idxmax()]
    # in one process every actor shares the one event loop: its lag is no one role's
    lagrole = "the one process" if r0["mode"] == "in-process" else lagrow["role"]
    out.append(Finding("event-loop lag", lagrole, lagrow["loop_lag_ms_max"] / (1e3 * heartbeat_s),
                       f"{lagrole}'s event loop up to {lagrow['loop_lag_ms_max']:,.0f} ms late "
                       f"(mean {lagrow['loop_lag_ms_mean']:.1f} ms) against a {heartbeat_s:g} s heartbeat timeout"))
    return out


THRESHOLD = {"CPU": CPU_BOUND, "memory": MEMORY_BOUND, "network (message size)": FRAME_BOUND, "event-loop lag": LAG_BOUND}


def _slope(x, y) -> float:
    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = (x > 0) & (y > 0)
    if ok.sum() < 2 or np.ptp(np.log(x[ok])) == 0:
        return float("nan")
    return float(np.polyfit(np.log(x[ok]), np.log(y[ok]), 1)[0])


def find_bound(table: pd.DataFrame, memory_mb: float, heartbeat_s: float = 2.0) -> dict:
    """What bound first, and at what scale: walk the runs of the fewest trackers by increasing
    peers; the first resource over its threshold binds. Rate scaling is fitted from there on."""
    if table.empty:
        return {"bound": False, "text": "no runs measured"}
    fewest = int(table["trackers"].min())
    series = table[table["trackers"] == fewest]
    order = series.drop_duplicates("run").sort_values("peers")["run"].tolist()
    first = None
    per_run = []
    for run_name in order:
        run = series[series["run"] == run_name]
        found = run_findings(run, memory_mb, heartbeat_s)
        top = max(found, key=lambda f: f.utilization / THRESHOLD[f.resource])
        per_run.append({"run": run_name, "peers": int(run["peers"].iloc[0]), "resource": top.resource, "role": top.role,
                        "utilization": top.utilization, "evidence": top.evidence})
        if first is None and top.utilization >= THRESHOLD[top.resource]:
            first = (run, top, found)
    runs = series.drop_duplicates("run").sort_values("peers")
    slope_all = _slope(runs["consumers_per_tracker"], runs["rate_hz_mean"])
    result = {"trackers": fewest, "per_run": per_run, "rate_slope_all": slope_all,
              "thresholds": {k: v for k, v in THRESHOLD.items()}}
    if first is None:
        best = max(per_run, key=lambda p: p["utilization"] / THRESHOLD[p["resource"]])
        result.update(bound=False, resource=best["resource"], role=best["role"], peers=best["peers"],
                      text=(f"Nothing reached its limit up to {int(runs['peers'].max()):,} peers with {fewest} tracker(s). "
                            f"Closest: {best['resource']} ({best['role']}) at {100 * best['utilization']:.0f} % "
                            f"at {best['peers']:,} peers: {best['evidence']}. Rate falls as N^{slope_all:.2f} over the sweep."))
        return result
    run, top, found = first
    r0 = run.iloc[0]
    later = runs[runs["peers"] >= r0["peers"]]
    slope = _slope(later["consumers_per_tracker"], later["rate_hz_mean"]) if len(later) >= 2 else slope_all
    others = "; ".join(f"{f.resource} ({f.role}) {100 * f.utilization:.0f} %" for f in found if f is not top)
    also = [f for f in found if f is not top and f.utilization >= THRESHOLD[f.resource]]
    text = (f"{top.resource} ({top.role}) bound first, at {int(r0['peers']):,} peers "
            f"({int(r0['consumers']):,} consumers, scale {r0['scale']:g}, {fewest} tracker(s)): {top.evidence}. "
            + (f"Also past its threshold there: " + "; ".join(f"{f.resource} ({f.role}): {f.evidence}" for f in also) + ". " if also else "")
            + f"Other resources then: {others}. Rebalance rate there {r0['rate_hz_mean']:,.1f} Hz; "
            f"over the sweep the rate falls as N^{slope_all:.2f} (1/N would be -1)"
            + (f", and as N^{slope:.2f} from the bound on" if not math.isnan(slope) and len(later) >= 2 else "") + ".")
    result.update(bound=True, resource=top.resource, role=top.role, peers=int(r0["peers"]),
                  consumers=int(r0["consumers"]), scale=float(r0["scale"]), run=r0["run"],
                  utilization=top.utilization, evidence=top.evidence, rate_slope_from_bound=slope, text=text,
                  also_bound=[{"resource": f.resource, "role": f.role, "utilization": f.utilization, "evidence": f.evidence} for f in also])
    return result


# ---------------------------------------------------------------- when to shard

def tracker_cost_model(table: pd.DataFrame) -> dict:
    """Round time of one tracker against the consumers in its trees: t = a + b n, least squares in
    relative error (one point per run: mean round time, mean consumers per tracker). Fitted over
    the runs within a factor FIT_SPAN of the largest load measured, where sharding is decided
    (round time grows faster than linearly at scale: a fit over every run is optimistic there)."""
    runs = table.drop_duplicates("run")
    x = runs["consumers_per_tracker"].to_numpy(float)
    y = runs["round_ms_mean"].to_numpy(float) / 1e3
    ok = (x > 0) & (y > 0)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.ptp(x) == 0:
        return {"ok": False, "why": "fewer than two runs with different consumers per tracker"}
    near = x >= x.max() / FIT_SPAN
    if near.sum() >= 2 and np.ptp(x[near]) > 0:
        x, y = x[near], y[near]
    w = 1.0 / y
    A = np.vstack([np.ones_like(x), x]).T
    a, b = (float(v) for v in np.linalg.lstsq(A * w[:, None], y * w, rcond=None)[0])
    if a < 0:  # growing faster than linearly: no fixed cost, the line through the largest run
        i = int(np.argmax(x))
        a, b = 0.0, float(y[i] / x[i])
    b = max(b, 1e-15)
    return {"ok": True, "a_s": a, "b_s_per_consumer": b, "consumers_per_s": 1.0 / b, "points": int(len(x)),
            "fit_from_consumers": float(x.min())}


def shard_plan(table: pd.DataFrame, target_hz: float, target_consumers: int) -> dict:
    """Trackers needed to hold `target_hz` with `target_consumers` consumers, from one tracker's
    measured capacity (the cost model)."""
    m = tracker_cost_model(table)
    if not m["ok"]:
        return {"ok": False, "why": m["why"]}
    budget = 1.0 / target_hz
    if budget <= m["a_s"]:
        return {**m, "ok": False, "why": f"a round's fixed cost ({1e3 * m['a_s']:.2f} ms) already exceeds the {1e3 * budget:.1f} ms "
                f"a {target_hz:g} Hz rate allows: no number of trackers reaches it"}
    per_tracker = (budget - m["a_s"]) / m["b_s_per_consumer"]
    need = max(1, math.ceil(target_consumers / per_tracker))
    return {**m, "ok": True, "target_hz": target_hz, "target_consumers": int(target_consumers),
            "consumers_per_tracker_max": float(per_tracker), "trackers": int(need),
            "text": (f"One tracker's round costs {1e3 * m['a_s']:.2f} ms + {1e9 * m['b_s_per_consumer']:.1f} ns per consumer "
                     f"(fitted over the {m['points']} runs from {m['fit_from_consumers']:,.0f} consumers per tracker up): at {target_hz:g} Hz it can hold {per_tracker:,.0f} consumers, "
                     f"so {target_consumers:,} consumers need {need} tracker(s). Shard when a tracker's trees pass "
                     f"{per_tracker:,.0f} consumers.")}


# ---------------------------------------------------------------- the sweep

def default_target_hz(table: pd.DataFrame, scale: float) -> float:
    """Twice the rate the fewest trackers held at `scale` (whole Hz, at least 1): a target the
    sweep itself missed, so the plan has to shard. None measured there: the scale nearest below."""
    fewest = table[table["trackers"] == table["trackers"].min()].drop_duplicates("run")
    at = fewest[fewest["scale"] <= scale].sort_values("scale")
    if at.empty:
        raise ValueError(f"no run of {int(table['trackers'].min())} tracker(s) at or below scale {scale:g} to set a target rate from")
    return float(max(1.0, round(2 * at["rate_hz_mean"].iloc[-1])))


def confirm_plan(do_point, table: pd.DataFrame, scale: float, shard: dict, say) -> tuple[pd.DataFrame, list[dict]]:
    """Run the planned tracker count at the target scale; if it misses the target rate, refit the
    cost with that run and run again with more trackers, up to CONFIRM_RUNS runs. Returns the
    table with the confirming runs (confirm=True) and one record per run."""
    target_hz, trackers, attempts = shard["target_hz"], shard["trackers"], []
    for i in range(1, CONFIRM_RUNS + 1):
        more = do_point(i, CONFIRM_RUNS, scale, trackers, tag="-confirm" if i == 1 else f"-confirm{i}")
        if not more:
            break
        c = more[0]
        attempts.append({"run": c["run"], "trackers": trackers, "rate_hz_mean": c["rate_hz_mean"], "rate_hz_p5": c["rate_hz_p5"],
                         "consumers_per_tracker": c["consumers_per_tracker"], "held": bool(c["rate_hz_mean"] >= target_hz)})
        table = pd.concat([table, pd.DataFrame([{**r, "confirm": True} for r in more])], ignore_index=True)
        say(f"CONFIRM: {trackers} tracker(s) at scale {scale:g}: {c['rate_hz_mean']:,.1f} Hz mean (p5 {c['rate_hz_p5']:,.1f}) "
            f"against the {target_hz:g} Hz target: " + ("held" if attempts[-1]["held"] else "NOT held"))
        if attempts[-1]["held"]:
            break
        again = shard_plan(table, target_hz, shard["target_consumers"])
        if not again["ok"]:
            say(f"  refitted with that run: {again['why']}")
            break
        trackers = max(trackers + 1, again["trackers"])
        if i < CONFIRM_RUNS:
            say(f"  refitted with that run: {again['text']} Trying {trackers}.")
    return table, attempts


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
    from scowl import plots

    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    base = load_scenario(config)
    machine = machine_info()
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
            "machine": machine, "version": git_commit(), "command": cmd, "bound": bound, "shard": shard,
            "consumers_per_scale": consumers_per_scale, "heartbeat_timeout_s": heartbeat,
            "elapsed_s": time.perf_counter() - t_start}
    (out / "sweep.json").write_text(json.dumps(meta, indent=1, default=float))
    plots.sweep_plots(table, meta, out)
    return meta


def load_sweep(sweep_dir) -> tuple[pd.DataFrame, dict]:
    d = Path(sweep_dir)
    return pd.read_csv(d / "sweep.csv"), json.loads((d / "sweep.json").read_text())
