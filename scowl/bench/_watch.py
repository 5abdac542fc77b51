"""A `scowl-node` process under `scowl bench day`: its peak memory sampled while it runs (VmHWM) and
its exact CPU time once reaped (wait4), so each process's figures are its own."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from typing import Self


def vm_hwm_mb(pid: int) -> float:
    """Peak resident memory of a live process (VmHWM), MB; 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


class Watched:
    """One child process: its name and role, the peak memory seen, and (once reaped) its rusage."""

    def __init__(self, name: str, role: str, proc: subprocess.Popen) -> None:
        self.name, self.role, self.proc = name, role, proc
        self.rss_peak_mb = 0.0
        self.cpu_s: float | None = None
        self.returncode: int | None = None
        self.maxrss_mb = 0.0  # wait4's ru_maxrss: includes what the process had before exec, a fallback only

    def sample(self) -> None:
        if self.returncode is None:
            self.rss_peak_mb = max(self.rss_peak_mb, vm_hwm_mb(self.proc.pid))

    def reap(self, block: bool) -> bool:
        """wait4 the process (exact CPU time); True once reaped."""
        if self.returncode is not None:
            return True
        self.sample()
        pid, status, usage = os.wait4(self.proc.pid, 0 if block else os.WNOHANG)
        if pid == 0:
            return False
        self.returncode = os.waitstatus_to_exitcode(status)
        self.proc.returncode = self.returncode  # Popen must not wait for it again
        self.cpu_s = usage.ru_utime + usage.ru_stime
        self.maxrss_mb = usage.ru_maxrss / 1024.0
        return True


class Sampler:
    """A thread sampling every watched process's VmHWM until stopped."""

    def __init__(self, watched: list[Watched], every_s: float) -> None:
        self.watched, self.every_s = watched, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for w in list(self.watched):
                w.sample()
            self._stop.wait(self.every_s)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def kill(w: Watched) -> None:
    """SIGKILL the process group of one not yet reaped, and reap it."""
    if w.returncode is None:
        try:
            os.killpg(w.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        w.reap(block=True)
