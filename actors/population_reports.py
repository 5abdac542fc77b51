"""A population's demand reports: which consumers moved past the report threshold since they
last reported (marked as reported), grouped by tracker, as global indices (uint32) and demand.

Every tick about half the consumers report (a whole-state population: ~1.1 M). What a tick's
reports hold is kept small, because it adds to the process's peak unless it fits in what the
allocator already holds (tick 0's Assigns set that): each block's reports are kept as 8 bytes a
report (uint32 global index, float32 demand) and each tracker's are joined only when its turn to
be sent comes (lists of int64 positions and every tracker's joined copies at once were ~24
bytes a report, ~29 MB a tick). Buffers over every consumer kept from tick to tick would add to
the process's resident memory for good, so none is kept but a block's scratch."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from scowl.actors.population_ids import IdSpace

#: consumers per block of the per-tick work over every consumer (its temporaries stay a few MB)
BLOCK = 1 << 18
#: consumers per block of the report selection: its temporaries (~18 bytes a consumer) come and go
#: between the reports kept, so smaller blocks leave smaller holes in the heap
REPORT_BLOCK = 1 << 16


class Reports:
    """The report selection of a population (`space`: its positions and their global indices)
    whose consumers have `trackers` trackers, with a block's scratch kept from tick to tick."""

    def __init__(self, space: IdSpace, trackers: int) -> None:
        m = min(space.n, REPORT_BLOCK)
        self.space, self.trackers = space, trackers
        self._diff, self._bound, self._mark = np.empty(m, np.float32), np.empty(m, np.float32), np.empty(m, bool)

    def moved_past_threshold(self, demand: np.ndarray, reported: np.ndarray, threshold: np.float32,
                             tracker_of: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """The consumers whose demand moved past the report threshold since they last reported
        (|d - r| > threshold x r; a consumer that reported 0 reports any demand), by tracker
        (`tracker_of`, a byte per position): for each tracker in turn, their global indices
        (uint32, in position order) and demand (float32), arrays of their own. Every block is
        selected and `reported` takes their demand before the first tracker's come; a tracker's
        demand is read from `demand` when its turn comes (do not change it meanwhile). Grouped
        block by block (a stable radix sort of a byte per report, in cache); what is kept until
        then is a uint32 position a report."""
        n, k_trackers = demand.size, self.trackers
        diff, bound, mark = self._diff, self._bound, self._mark
        kept: list[list[np.ndarray]] = [[] for _ in range(k_trackers)]
        for a in range(0, n, REPORT_BLOCK):
            b = min(n, a + REPORT_BLOCK)
            db, rb, m = demand[a:b], reported[a:b], mark[: b - a]
            np.subtract(db, rb, out=diff[: b - a])
            np.abs(diff[: b - a], out=diff[: b - a])
            np.multiply(rb, threshold, out=bound[: b - a])
            np.greater(diff[: b - a], bound[: b - a], out=m)
            j = np.flatnonzero(m)
            rb[j] = db[j]  # (gathers by index: a masked copy or compress of a half-set random mask is slower)
            if k_trackers > 1:
                of = tracker_of[a:b][j]
                for t in range(k_trackers):  # (a compress per tracker: cheaper than a stable sort of the bytes)
                    pos = np.compress(of == t, j)
                    kept[t].append(np.add(pos, a, out=np.empty(pos.size, np.uint32), casting="unsafe"))
            else:
                kept[0].append(np.add(j, a, out=np.empty(j.size, np.uint32), casting="unsafe"))  # (positions < n < 2^32)
        for t in range(k_trackers):
            pos = np.concatenate(kept[t]) if kept[t] else np.zeros(0, np.uint32)
            kept[t] = []  # (a block's positions go once every tracker's part of them is joined)
            lo = np.empty(pos.size, np.uint32)
            self.space.global_into(pos, lo)
            mw = np.empty(pos.size, np.float32)
            for k in range(0, pos.size, REPORT_BLOCK):  # (take casts its indices to int64: a block at a time)
                np.take(demand, pos[k:k + REPORT_BLOCK], out=mw[k:k + REPORT_BLOCK], mode="clip")
            del pos
            yield lo, mw
