#!/usr/bin/env python3
"""Where the processes of a run wait for each other: reads the timelines a run wrote with
SCOWL_TIMELINE=DIR (scowl/runtime/timeline.py) and prints, over the day's ticks, per process
its busy time, how long both processes were busy at once, one alone, or neither; per actor its
busy time by message type; and the ticks that took longest, stage by stage.

    SCOWL_TIMELINE=/tmp/tl scowl bench day --scale 0.25 --processes --json
    scripts/timeline.py /tmp/tl [--ticks 5]
"""

from __future__ import annotations

import argparse
import bisect
import collections
import csv
import sys
from pathlib import Path


def load(d: Path) -> dict[str, list[tuple[float, float, str, str, int]]]:
    """process label -> its rows (start, end, actor, what, tick), by start."""
    out = {}
    for path in sorted(d.glob("timeline-*.tsv")):
        with open(path) as f:
            rows = [(float(r["start"]), float(r["end"]), r["actor"], r["what"], int(r["tick"])) for r in csv.DictReader(f, delimiter="\t")]
        if not rows:
            continue
        actors = sorted({r[2] for r in rows})
        label = "+".join(a for a in actors if a in ("metronome",)) or actors[0]
        out[f"{path.stem[9:]}({label})"] = sorted(rows)
    return out


def union(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for a, b in sorted(intervals):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return [(a, b) for a, b in merged]


def clip(intervals, lo: float, hi: float) -> list[tuple[float, float]]:
    return [(max(a, lo), min(b, hi)) for a, b in intervals if b > lo and a < hi]


def length(intervals) -> float:
    return sum(b - a for a, b in intervals)


def intersect(x, y) -> list[tuple[float, float]]:
    out, i, j = [], 0, 0
    while i < len(x) and j < len(y):
        a, b = max(x[i][0], y[j][0]), min(x[i][1], y[j][1])
        if a < b:
            out.append((a, b))
        if x[i][1] < y[j][1]:
            i += 1
        else:
            j += 1
    return out


def tick_starts(procs) -> list[float]:
    """When each tick began: the first process to handle the metronome's Tick of it."""
    first: dict[int, float] = {}
    for rows in procs.values():
        for t0, _, _, what, tick in rows:
            if what == "tick" and (tick not in first or t0 < first[tick]):
                first[tick] = t0
    return [first[t] for t in sorted(first)]


#: the lockstep stages of a tick, in order: (name, the roles and message types whose handlers do its work)
STAGES = (
    ("reports + statuses", ("population", "fleet", "storage"), ("tick",)),
    ("first pass", ("tracker",), ("demand-report", "gen-status", "region-summary", "tick")),
    ("sub-round", ("tracker",), ("handover",)),
    ("follow + draws", ("population",), ("assign",)),
    ("verdicts", ("fleet", "storage"), ("draw", "setpoints", "tree-delta")),
    ("books", ("population",), ("verdict",)),
)

WORK_S = 0.002


def stages(procs, starts) -> None:
    """Per stage, mean ms a tick from the end of the stage before to the end of its last work
    in any process, and each process's own work in it: the rest is waiting."""
    span: collections.Counter = collections.Counter()
    work: dict[str, collections.Counter] = {p: collections.Counter() for p in procs}
    n = 0
    for i in range(1, len(starts) - 1):
        a, b = starts[i], starts[i + 1]
        prev = a
        n += 1
        for name, roles, whats in STAGES:
            end = None
            for p, rows in procs.items():
                for t0, t1, actor, what, _ in rows[bisect.bisect_left(rows, (a,)):bisect.bisect_left(rows, (b,))]:
                    if what in whats and actor.rsplit("-", 1)[0] in roles:
                        work[p][name] += t1 - t0
                        if t1 - t0 >= WORK_S:  # (a handler that only files a message away ends no stage)
                            end = t1 if end is None else max(end, t1)
            if end is not None and end > prev:
                span[name] += end - prev
                prev = end
        span["tick-done -> next tick"] += b - prev
    if not n:
        return
    print(f"\nstages, mean ms a tick over ticks 1..{n} (span: from the stage before's end; work: handlers' time in each process):")
    for name in [s[0] for s in STAGES] + ["tick-done -> next tick"]:
        cells = "  ".join(f"{p[: p.index('(')]} {1e3 * work[p][name] / n:6.1f}" for p in procs)
        print(f"  {name:<24} span {1e3 * span[name] / n:6.1f}   work {cells}")
    print(f"  {'tick':<24} span {1e3 * sum(span.values()) / n:6.1f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", type=Path)
    ap.add_argument("--ticks", type=int, default=3, help="how many of the slowest ticks to show stage by stage")
    args = ap.parse_args(argv)
    procs = load(args.dir)
    if not procs:
        print(f"no timeline-*.tsv in {args.dir}", file=sys.stderr)
        return 1
    starts = tick_starts(procs)
    if len(starts) < 2:
        print("fewer than two ticks recorded", file=sys.stderr)
        return 1
    lo, hi = starts[0], starts[-1]  # every tick but the last (its end is the results)
    names = list(procs)
    busy = {p: clip(union([(a, b) for a, b, *_ in rows]), lo, hi) for p, rows in procs.items()}
    wall = hi - lo
    print(f"{len(starts) - 1} ticks, {wall:.2f} s from the first tick to the last")
    for p in names:
        print(f"  {p:<28} busy {length(busy[p]):8.2f} s ({100 * length(busy[p]) / wall:5.1f} % of the ticks' wall)")
    if len(names) == 2:
        both = length(intersect(busy[names[0]], busy[names[1]]))
        any_busy = length(union(busy[names[0]] + busy[names[1]]))
        print(f"  both busy {both:.2f} s, one alone {any_busy - both:.2f} s, neither {wall - any_busy:.2f} s; "
              f"cores busy {100 * (any_busy + both) / wall:.1f} % of 200 %")
        for p in names:
            print(f"  {p} busy while the other waits: {length(busy[p]) - both:.2f} s")
    stages(procs, starts)
    for path in sorted(args.dir.glob("threads-*.tsv")):
        with open(path) as f:
            threads = ", ".join(f"{r['thread']} {float(r['cpu_s']):.1f}" for r in csv.DictReader(f, delimiter="\t"))
        print(f"  CPU s by thread, process {path.stem[8:]}: {threads}")
    print("\nbusy time by actor and message type (s, within the ticks):")
    per: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for p, rows in procs.items():
        for a, b, actor, what, _ in rows:
            if b > lo and a < hi:
                per[f"{p[: p.index('(')]} {actor}"][what] += min(b, hi) - max(a, lo)
    for key in sorted(per, key=lambda k: -sum(per[k].values())):
        c = per[key]
        top = ", ".join(f"{w} {s:.1f}" for w, s in c.most_common(6))
        print(f"  {key:<26} {sum(c.values()):7.2f}  {top}")
    durations = sorted(((starts[i + 1] - starts[i], i) for i in range(len(starts) - 1)), reverse=True)
    for dur, i in durations[: args.ticks]:
        a, b = starts[i], starts[i + 1]
        print(f"\ntick {i}: {1e3 * dur:.0f} ms; per process, what ran (ms from the tick's start, actor what ms):")
        for p in names:
            rows = [r for r in procs[p] if r[1] > a and r[0] < b]
            print(f"  {p}: busy {1e3 * length(clip(union([(r[0], r[1]) for r in rows]), a, b)):.0f} ms")
            for t0, t1, actor, what, _ in rows:
                if t1 - t0 >= WORK_S:
                    print(f"    {1e3 * (t0 - a):7.1f} {actor:<13} {what:<14} {1e3 * (t1 - t0):7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
