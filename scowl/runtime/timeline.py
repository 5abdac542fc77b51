"""When each actor of a process works: an opt-in timeline of handled messages and decoded
packets, for finding where the processes of a run wait for each other.

Off by default (it costs nothing then but one attribute test per message). With the
environment variable SCOWL_TIMELINE=DIR set, every process records, per message its actors
handle, (start, end, actor, message type, tick) on CLOCK_MONOTONIC, which every process of
one machine shares, and per packet decoded (start, end, actor, "decode", bytes). At exit it
writes DIR/timeline-<pid>.tsv; `scripts/timeline.py DIR` puts the processes side by side,
tick by tick (busy, both busy, waiting)."""

from __future__ import annotations

import atexit
import os
import time
from pathlib import Path

ENV = "SCOWL_TIMELINE"


class Timeline:
    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir
        self.rows: list[tuple[float, float, str, str, int]] = []
        self.pid = os.getpid()
        self.threads: list[tuple[str, float]] = []  # each thread's CPU, taken before the sockets close (snapshot)
        atexit.register(self.write)

    def add(self, t0: float, actor: str, what: str, tick: int) -> None:
        self.rows.append((t0, time.monotonic(), actor, what, tick))

    def snapshot(self) -> None:
        """Each thread's CPU now: ZeroMQ's I/O threads end with the context, before exit."""
        self.threads = thread_cpu()

    def write(self) -> None:
        if not self.rows or os.getpid() != self.pid:  # (a forked child writes nothing of its parent's)
            return
        path = Path(self.out_dir) / f"timeline-{self.pid}.tsv"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            f.write("start\tend\tactor\twhat\ttick\n")
            for t0, t1, actor, what, tick in self.rows:
                f.write(f"{t0:.6f}\t{t1:.6f}\t{actor}\t{what}\t{tick}\n")
        self.rows = []
        threads = self.threads or thread_cpu()
        if threads:
            (Path(self.out_dir) / f"threads-{self.pid}.tsv").write_text(
                "thread\tcpu_s\n" + "".join(f"{name}\t{cpu:.3f}\n" for name, cpu in threads))


def thread_cpu() -> list[tuple[str, float]]:
    """(name, CPU seconds) of every thread of this process (Linux /proc; [] elsewhere): the
    event loop's thread, ZeroMQ's I/O threads, pyzmq's garbage collector."""
    out = []
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    for task in sorted(Path("/proc/self/task").glob("*")):
        try:
            stat = (task / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1: stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        out.append((f"{name}/{task.name}", (int(fields[11]) + int(fields[12])) / tick))
    return out


def _from_env() -> Timeline | None:
    out = os.environ.get(ENV, "")
    return Timeline(out) if out else None


#: this process's timeline, or None (the default: nothing recorded)
TIMELINE = _from_env()
now = time.monotonic
