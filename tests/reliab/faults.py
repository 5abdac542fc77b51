"""A harness for the fault matrix: start `scowl run` as a real process, wait until the day is
under way (ticks in the state log's journal), inflict one fault, and measure what happened:
time to end, exit status, message, processes left, ticks the state log kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from scowl.statelog import JOURNAL, journal_rows, read_state_log


@dataclass
class Outcome:
    fault: str
    rc: int | None
    seconds: float  # from the fault to the end of `scowl run`
    stderr: str
    leftovers: list[str]
    ticks_kept: int
    ticks_at_fault: int
    out: Path
    extra: dict = field(default_factory=dict)


def node_pids(out: Path) -> dict[str, int]:
    """The `scowl-node` processes of a run directory (by the plan path on their command line)."""
    pids = {}
    needle = str(out / "plan.json")
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv]
        if needle in args and "--name" in args:
            try:
                state = (d / "stat").read_text().split(")")[-1].split()[0]
            except OSError:
                continue
            if state != "Z":
                pids[args[args.index("--name") + 1]] = int(d.name)
    return pids


def ticks_on_disk(out: Path) -> int:
    """Complete ticks readable now (the journal while the run goes)."""
    j = out / JOURNAL
    if j.is_file():
        rows = journal_rows(j)
        return len({r["tick"] for r in rows})
    if (out / "state.parquet").is_file():
        return int(read_state_log(out)["tick"].nunique())
    return 0


def start_run(config: str, out: Path, *args: str) -> subprocess.Popen:
    """`scowl run` in the background; with --processes one process per actor (the matrix kills one actor's)."""
    if "--processes" in args and "--layout" not in args:
        args = (*args, "--layout", "actor")
    return subprocess.Popen([sys.executable, "-m", "scowl", "run", config, "--out", str(out), "--quiet", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def wait_ticks(proc: subprocess.Popen, out: Path, ticks: int, timeout: float = 240.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = ticks_on_disk(out)
        if n >= ticks or proc.poll() is not None:
            return n
        time.sleep(0.05)
    raise AssertionError(f"the run did not reach tick {ticks} within {timeout} s")


def finish(fault: str, proc: subprocess.Popen, out: Path, t_fault: float, at: int, timeout: float = 240.0) -> Outcome:
    try:
        _, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate()
        raise AssertionError(f"{fault}: `scowl run` did not end within {timeout} s:\n{stderr[-3000:]}") from None
    seconds = time.monotonic() - t_fault
    time.sleep(0.2)
    left = node_pids(out)
    for pid in left.values():  # leave nothing behind, even when the test fails
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        kept = int(read_state_log(out)["tick"].nunique())
    except Exception:
        kept = 0
    return Outcome(fault, proc.returncode, seconds, stderr, sorted(left), kept, at, out)
