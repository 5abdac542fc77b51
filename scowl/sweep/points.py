"""One sweep point: its scenario file, the machine, and the `scowl run` subprocess whose CPU
is sampled over its ticks."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from scowl.config import load_scenario, override


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
    root = root or Path(__file__).resolve().parents[2]  # the checkout: scowl/sweep/points.py
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
