"""One sweep point: its scenario file, the machine, and the `scowl run` subprocess whose CPU
is sampled over its ticks."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from scowl.config import load_scenario, override, scenario_toml

__all__ = ["cpu_by_actor", "point_scenario", "run_point", "scenario_toml"]


def point_scenario(config: str, scale: float, trackers: int, ticks: int | None):
    changes: dict = {"scenario.scale": float(scale), "trackers.count": int(trackers)}
    if ticks:
        changes["scenario.ticks"] = int(ticks)
    return override(load_scenario(config), changes)


# ---------------------------------------------------------------- one run, sampled

def tick_event(line: str) -> tuple[int, int] | None:
    """(done, total) from one line of `scowl run --json`'s progress stream (stderr: a JSON
    object a line, {"event": "tick", "done": D, "total": T, ...}); None for any other line."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("event") != "tick":
        return None
    return int(event["done"]), int(event["total"])


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


#: a sweep's child `scowl run` is stopped (SIGTERM to its process group, then SIGKILL) after this long
CHILD_TIMEOUT_S = 3 * 3600.0


def _watchdog(proc: subprocess.Popen, timeout_s: float, fired: list) -> threading.Timer:
    """Stop `proc` (its whole process group) when it outlives `timeout_s`: SIGTERM, so it writes
    what it gathered, then SIGKILL 30 s later."""
    def stop() -> None:
        fired.append(timeout_s)
        for sig, wait in ((signal.SIGTERM, 30.0), (signal.SIGKILL, 0.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(wait)
                return
            except subprocess.TimeoutExpired:
                continue

    timer = threading.Timer(timeout_s, stop)
    timer.daemon = True
    timer.start()
    return timer


def run_point(config_path: Path, out_dir: Path, *, processes: bool = False, log=None,
              timeout_s: float = CHILD_TIMEOUT_S) -> dict:
    """`scowl run CONFIG --out DIR --json` in a subprocess; returns CPU sampled over its ticks:
    {"window_s", "cpu_pct": {actor or "run": % of one core}} plus the exit code. The tick window
    comes from the run's machine progress stream (one JSON object a line on stderr), its figures
    from the summary it prints on stdout (the same object as DIR/summary.json)."""
    cmd = [sys.executable, "-m", "scowl", "run", str(config_path), "--out", str(out_dir), "--json"]
    if processes:
        cmd += ["--processes", "--transport", "ipc"]
    first = last = None
    err_tail: list[str] = []
    # stdout (one JSON object, a few kB) is read after stderr closes; the pipes close with the block
    fired: list = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
                          start_new_session=True) as proc:
        assert proc.stderr is not None and proc.stdout is not None
        watchdog = _watchdog(proc, timeout_s, fired)
        for line in proc.stderr:
            tick = tick_event(line)
            if tick:
                done, total = tick
                if first is None:
                    first = (time.perf_counter(), _tree_cpu(proc.pid))
                if done == total:
                    last = (time.perf_counter(), _tree_cpu(proc.pid))
            else:
                err_tail = (err_tail + [line.rstrip()])[-20:]
        stdout = proc.stdout.read()
        rc = proc.wait()
        watchdog.cancel()
    sampled: dict = {"returncode": rc, "command": " ".join(cmd), "window_s": 0.0, "cpu_pct": {}}
    if rc != 0:
        sampled["error"] = "\n".join(err_tail) or stdout[-2000:]
        if fired:
            sampled["error"] = f"stopped after {fired[0]:g} s (the child's timeout); its partial results are in {out_dir}\n" + sampled["error"]
        return sampled
    try:
        sampled["summary"] = json.loads(stdout)
    except ValueError:
        sampled["error"] = f"scowl run --json printed no JSON summary: {stdout[-500:]!r}"
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
