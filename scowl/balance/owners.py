"""Whose consumers these are: a consumer's global index falls in one population's ranges (its
consumers, then its fixed-load blocks after every consumer), so a tracker can send each
population only the assignments of its own consumers. Pure functions, no sockets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

NO_OWNER = -1


def range_owner(lo: np.ndarray, ranges: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """For each global index in `lo`, the owner k of the range [start, stop) holding it among
    `ranges` (start, stop, k), NO_OWNER where none does. Ranges must not overlap."""
    lo = np.asarray(lo, dtype=np.int64)
    spans = sorted((int(a), int(b), int(k)) for a, b, k in ranges if b > a)
    if any(b0 > a1 for (_, b0, _), (a1, _, _) in zip(spans, spans[1:])):
        raise ValueError(f"range_owner: ranges overlap: {spans}")
    if not spans:
        return np.full(lo.size, NO_OWNER, dtype=np.int64)
    starts = np.array([s[0] for s in spans], dtype=np.int64)
    stops = np.array([s[1] for s in spans], dtype=np.int64)
    owners = np.array([s[2] for s in spans], dtype=np.int64)
    at = np.searchsorted(starts, lo, side="right") - 1
    safe = np.maximum(at, 0)
    inside = (at >= 0) & (lo < stops[safe])
    return np.where(inside, owners[safe], NO_OWNER)
