"""A population's demand reports: which consumers moved past the report threshold since they
last reported (marked as reported), grouped by tracker. numpy only, in blocks into reused
buffers: no n-wide temporary."""

from __future__ import annotations

import numpy as np

#: consumers per block of the per-tick work over every consumer (its temporaries stay a few MB)
BLOCK = 1 << 18


def moved_past_threshold(demand: np.ndarray, reported: np.ndarray, threshold: np.float32, tracker_of: np.ndarray,
                         trackers: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The consumers whose demand moved past the report threshold since they last reported
    (|d - r| > threshold x r; a consumer that reported 0 reports any demand), by tracker
    (`tracker_of`, a byte per position): for each tracker, their positions (ascending) and
    demand; `reported` takes their demand. Grouped block by block (a stable radix sort of a
    byte per report, in cache), then joined: no gather over the whole population."""
    n = demand.size
    diff = np.empty(min(n, BLOCK), dtype=np.float32)
    bound = np.empty_like(diff)
    mark = np.empty(diff.size, dtype=bool)
    pos: list[list[np.ndarray]] = [[] for _ in range(trackers)]
    mw: list[list[np.ndarray]] = [[] for _ in range(trackers)]
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        db, rb, m = demand[a:b], reported[a:b], mark[: b - a]
        np.subtract(db, rb, out=diff[: b - a])
        np.abs(diff[: b - a], out=diff[: b - a])
        np.multiply(rb, threshold, out=bound[: b - a])
        np.greater(diff[: b - a], bound[: b - a], out=m)
        j = np.flatnonzero(m)
        v = db[j]  # (gathers by index: a masked copy or compress of a half-set random mask is slower)
        rb[j] = v
        j += a
        if trackers == 1:
            pos[0].append(j)
            mw[0].append(v)
            continue
        of = tracker_of[j]
        order = np.argsort(of, kind="stable")
        j, v = j[order], v[order]
        counts = np.bincount(of, minlength=trackers)  # one pass, not one per tracker
        e = 0
        for t in range(trackers):
            c = int(counts[t])
            pos[t].append(j[e:e + c])
            mw[t].append(v[e:e + c])
            e += c
    return [(np.concatenate(p) if p else np.zeros(0, np.int64), np.concatenate(w) if w else np.zeros(0, np.float32))
            for p, w in zip(pos, mw, strict=True)]
