"""One round of the policy: shed, place, starve the rest, report what changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scowl.balance.place import _plan
from scowl.balance.shed import _shed
from scowl.balance.trees import _EMPTY_G, _EMPTY_I, STARVED, Trees


@dataclass(frozen=True)
class RebalanceResult:
    """What one round changed. Indices are consumer indices, sorted ascending.

    moved / moved_from / moved_to: every consumer whose generator differs from the start of
    the round (-1 = unplaced); newly_starved: served at the start, starved now; restored:
    unplaced at the start (starved or new joiner), served now; shed: consumers taken off
    over-threshold generators (some of them placed again elsewhere); starved_count and
    starved_mw: all unplaced consumers after the round; load: per-generator load after, MW.
    """

    moved: np.ndarray
    moved_from: np.ndarray
    moved_to: np.ndarray
    newly_starved: np.ndarray
    restored: np.ndarray
    shed: int
    overloaded: int
    starved_count: int
    starved_mw: float
    passes: int
    load: np.ndarray


def rebalance(trees: Trees, safety_threshold: float = 0.10) -> RebalanceResult:
    """One round: shed from generators over (1 - threshold) x output, place every unplaced
    consumer where it fits, starve the rest. Mutates `trees`; returns what changed."""
    cap = trees.cap(safety_threshold)
    over = np.flatnonzero(trees._load > cap)
    trees.round += 1
    if not over.size and not trees.n_unplaced:
        return RebalanceResult(_EMPTY_I, _EMPTY_G, _EMPTY_G, _EMPTY_I, _EMPTY_I, 0, 0, 0, 0.0, 0, trees._load.copy())
    shed, shed_from = _shed(trees, over, cap) if over.size else (_EMPTY_I, _EMPTY_G)
    unplaced = trees._members(np.array([STARVED]))
    unplaced = unplaced[np.lexsort((unplaced, trees._since[unplaced]))]  # longest starved first
    d = trees._demand[unplaced].astype(np.float64)
    gen, passes = _plan(d, trees._load, cap)
    ok = gen >= 0
    trees._reassign(unplaced[ok], gen[ok])
    # Guard against float rounding between the plan's sums and the loads' sums.
    viol = np.flatnonzero(trees._load > cap)
    if viol.size:
        _shed(trees, viol, cap)
    # Report against the start of the round.
    touched = np.sort(unplaced)
    start = np.full(touched.size, STARVED, dtype=np.int32)
    start[np.searchsorted(touched, shed)] = shed_from
    end = trees._assign[touched]
    moved = start != end
    idx, frm, to = touched[moved], start[moved], end[moved]
    starved = end == STARVED
    return RebalanceResult(
        moved=idx,
        moved_from=frm,
        moved_to=to,
        newly_starved=idx[(frm >= 0) & (to == STARVED)],
        restored=idx[(frm == STARVED) & (to >= 0)],
        shed=int(shed.size),
        overloaded=int(over.size),
        starved_count=int(np.count_nonzero(starved)),
        starved_mw=float(trees._demand[touched[starved]].astype(np.float64).sum()),
        passes=passes,
        load=trees._load.copy(),
    )
