"""A population's demand reports: which consumers moved past the report threshold since they
last reported (marked as reported), grouped by tracker. numpy only, in blocks into reused
buffers: no n-wide temporary."""

from __future__ import annotations

import numpy as np

#: consumers per block of the per-tick work over every consumer (its temporaries stay a few MB)
BLOCK = 1 << 18


def moved_past_threshold(demand: np.ndarray, reported: np.ndarray, threshold: np.float32) -> np.ndarray:
    """Positions of the consumers whose demand moved past the report threshold since they last
    reported (|d - r| > threshold x r; a consumer that reported 0 reports any demand), in
    position order; `reported` takes their demand."""
    n = demand.size
    diff = np.empty(min(n, BLOCK), dtype=np.float32)
    bound = np.empty_like(diff)
    mark = np.empty(diff.size, dtype=bool)
    parts = []
    for a in range(0, n, BLOCK):
        b = min(n, a + BLOCK)
        db, rb, m = demand[a:b], reported[a:b], mark[: b - a]
        np.subtract(db, rb, out=diff[: b - a])
        np.abs(diff[: b - a], out=diff[: b - a])
        np.multiply(rb, threshold, out=bound[: b - a])
        np.greater(diff[: b - a], bound[: b - a], out=m)
        j = np.flatnonzero(m)
        rb[j] = db[j]  # (a gather/scatter: a masked copy of a half-set random mask is 5x slower)
        j += a
        parts.append(j)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def by_tracker(idx: np.ndarray, tracker_of: np.ndarray, trackers: int) -> list[np.ndarray]:
    """`idx` (positions, ascending) split by their tracker (`tracker_of`, a byte per position),
    each part in position order (a stable radix sort of a byte per report)."""
    of = tracker_of[idx]
    idx = idx[np.argsort(of, kind="stable")]
    counts = np.bincount(of, minlength=trackers)
    ends = np.cumsum(counts)
    return [idx[ends[t] - counts[t]:ends[t]] for t in range(trackers)]
