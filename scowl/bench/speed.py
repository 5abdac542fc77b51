"""Machine speed: a fixed reference workload's time and the CPU the hypervisor steals, so runs of other benchmarks can be compared.

The same code on the same 2-core virtual machine ran the whole state's day in 63 s one day and in
127 s the next, with twice the CPU seconds: the host, not the code, had changed (the hypervisor took
3-15 % of the CPUs as steal time, and a plain Python loop ran 2-3x slower). A wall time alone cannot
say which happened, so a benchmark records two facts beside its figures: the time of a fixed
single-threaded reference workload (interpreted Python and numpy, the two things the actors spend
their CPU on), before and after the run, and the share of CPU time the hypervisor stole during it.
Runs compare by their reference: figures from machines whose reference differs by 2x do not compare.
`scowl bench day` records both; `scowl bench speed` measures them alone (over --seconds of idling)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

#: the reference workload's size: ~0.1-0.3 s a repeat on the machines Scowl was measured on
_LOOP = 400_000
_ARRAY = 1 << 20


def _workload() -> float:
    """One repeat: an interpreted loop, and a numpy sort, bincount and gather of 1 M int32 (seeded, the
    same every call). Returns its wall time, s."""
    rng = np.random.default_rng(12345)
    a = rng.integers(0, 1 << 20, size=_ARRAY, dtype=np.int32)
    t0 = time.perf_counter()
    acc = 0
    for i in range(_LOOP):
        acc += i & 7
    order = np.argsort(a, kind="stable")
    counts = np.bincount(a[order] & 0xFFFF, minlength=1 << 16)
    _ = a[order[: _ARRAY // 2]].sum() + counts.max() + acc
    return time.perf_counter() - t0


def reference_s(repeats: int = 5) -> float:
    """The fastest of `repeats` runs of the reference workload, s (the fastest: the least disturbed by
    other work, so the figure says what the CPU can do, not how busy it was)."""
    return round(min(_workload() for _ in range(max(1, repeats))), 4)


def cpu_times() -> dict[str, int]:
    """The machine's summed CPU time counters (/proc/stat `cpu` line, in clock ticks): {} where unknown."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    except OSError:
        return {}
    if not fields or fields[0] != "cpu":
        return {}
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    return {n: int(v) for n, v in zip(names, fields[1:], strict=False)}


def steal_pct(before: dict[str, int], after: dict[str, int]) -> float | None:
    """The share of all CPU time between two `cpu_times()` readings that the hypervisor gave to others
    (steal), %: None where the counters are unknown."""
    if not before or not after or "steal" not in before or "steal" not in after:
        return None
    total = sum(after.values()) - sum(before.values())
    return round(100.0 * (after["steal"] - before["steal"]) / total, 1) if total > 0 else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeats", type=int, default=5, help="runs of the reference workload; the fastest counts (default 5)")
    parser.add_argument("--seconds", type=float, default=2.0, help="how long to watch the CPU counters for steal (default 2)")


def measure(args: argparse.Namespace) -> dict:
    before = cpu_times()
    ref = reference_s(args.repeats)
    time.sleep(max(0.0, args.seconds))
    return {"reference_s": ref, "repeats": args.repeats, "steal_pct": steal_pct(before, cpu_times()),
            "loadavg": [round(x, 2) for x in loadavg()]}


def loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return []


def render(f: dict) -> str:
    steal = "unknown" if f["steal_pct"] is None else f"{f['steal_pct']:.1f} %"
    return (f"reference workload: {f['reference_s']:.3f} s (fastest of {f['repeats']}; lower is faster)\n"
            f"CPU stolen by the hypervisor while measured: {steal}\n"
            f"load average: {' '.join(f'{x:.2f}' for x in f['loadavg'])}")
