"""A run's progress over its ticks, on stderr.

On a terminal: a tqdm bar (ticks done, elapsed, eta). Not on a terminal (a pipe, a log file,
CI): one plain line per 10 % of the ticks ("LABEL [###...] D/T ticks  S s  eta S s"), no
carriage returns. `machine=True` (what
`scowl run --json` uses) writes one JSON object a line instead, {"event": "tick", "done": D,
"total": T, "elapsed_s": S}, for a program that starts and watches `scowl run` (scowl sweep):
that stream is a documented interface, the human bar is not."""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

#: set to "json" (what `scowl run --json` does) so every process of a run, scowl-node ones
#: included, writes machine progress lines; "off" silences progress
ENV = "SCOWL_PROGRESS"


class Progress:
    def __init__(self, label: str, stream=None, enabled: bool = True, machine: bool | None = None) -> None:
        mode = os.environ.get(ENV, "")
        self.label = label
        self.stream = stream or sys.stderr
        self.enabled = enabled and mode != "off"
        self.machine = mode == "json" if machine is None else machine
        self.t0 = time.perf_counter()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_decile = -1
        self._bar: Any = None  # a tqdm bar, made on the first tick

    def __call__(self, done: int, total: int) -> None:
        if done == 0:  # the clock starts with the first tick, not with the process
            self.t0 = time.perf_counter()
        if not self.enabled or total <= 0 or done == 0:
            return
        elapsed = time.perf_counter() - self.t0
        if self.machine:
            self.stream.write(json.dumps({"event": "tick", "done": done, "total": total, "elapsed_s": round(elapsed, 6)}) + "\n")
            self.stream.flush()
            return
        if self.tty:
            self._tqdm(done, total)
            return
        frac = done / total
        if int(frac * 10) != self._last_decile or done == total:
            self._last_decile = int(frac * 10)
            eta = elapsed / frac - elapsed
            bar = "#" * int(30 * frac) + "." * (30 - int(30 * frac))
            self.stream.write(f"{self.label} [{bar}] {done}/{total} ticks  {elapsed:6.1f} s  eta {eta:5.1f} s\n")
            self.stream.flush()

    def _tqdm(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.label, unit="tick", file=self.stream, leave=True, dynamic_ncols=True)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()
            self._bar = None
