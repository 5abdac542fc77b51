"""One round of the policy: shed, place, starve the rest, report what changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scowl.balance.arrays import pick
from scowl.balance.place import plan_placement
from scowl.balance.shed import shed_overloaded
from scowl.balance.trees import EMPTY_G, EMPTY_I, STARVED, Trees


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


def rebalance(trees: Trees, safety_threshold: float = 0.10, *, clock: int | None = None) -> RebalanceResult:
    """One round: shed from generators over (1 - threshold) x output, place every unplaced
    consumer where it fits, starve the rest. Mutates `trees`; returns what changed.

    Work is proportional to the generators over their ceiling, the consumers whose demand
    rose since the last round and the unplaced consumers, not to the region's size: the
    starved queue is kept in priority order, and a generator pushed over by its risers
    sheds from them without looking at its other members. Starved time counts in rounds, or
    in `clock` units when given (a tracker passes its tick: two passes in one tick count once)."""
    cap = trees.cap(safety_threshold)
    over = np.flatnonzero(trees.load > cap)
    if clock is None:
        trees.round += 1
    else:
        trees.round = max(trees.round, int(clock))
    risers = trees.take_risers()
    if not over.size and not trees.n_unplaced:
        return RebalanceResult(EMPTY_I, EMPTY_G, EMPTY_G, EMPTY_I, EMPTY_I, 0, 0, 0, 0.0, 0, trees.load.copy())
    shed, shed_from = shed_overloaded(trees, over, cap, risers) if over.size else (EMPTY_I, EMPTY_G)
    unplaced = trees.starved()  # longest starved first, ties by index
    d = trees.demand[unplaced].astype(np.float64)
    if trees.frozen is None:
        gen, passes = plan_placement(d, trees.load, cap)
    else:  # frozen consumers stay unplaced
        free = ~trees.frozen[unplaced]
        part, passes = plan_placement(d[free], trees.load, cap)
        gen = np.full(unplaced.size, STARVED, dtype=part.dtype)
        gen[free] = part
    ok = gen >= 0
    placed, placed_on = pick(unplaced, ok), pick(gen, ok)
    starved_mw = float(pick(d, ~ok).sum())
    del d, gen  # (a first round places millions: its peak holds only what it placed)
    trees.move(placed, placed_on)
    trees.requeue(pick(unplaced, ~ok))
    # Guard against float rounding between the plan's sums and the loads' sums.
    viol = np.flatnonzero(trees.load > cap)
    guard, guard_from = shed_overloaded(trees, viol, cap) if viol.size else (EMPTY_I, EMPTY_G)
    starved_mw += float(trees.demand[guard].astype(np.float64).sum())
    if not shed.size and not guard.size and (placed.size < 2 or bool((placed[1:] > placed[:-1]).all())):
        # only placements, in index order (a first round places millions): they are what moved
        idx = placed.astype(np.int64, copy=False)
        return RebalanceResult(idx, np.full(idx.size, STARVED, dtype=np.int32), placed_on, EMPTY_I, idx, 0, int(over.size),
                               trees.n_unplaced, starved_mw, passes, trees.load.copy())
    # Report against the start of the round: only the consumers shed or placed can differ.
    touched = np.sort(np.concatenate([shed, placed, guard]))
    if touched.size > 1:  # shed then placed again: listed twice
        touched = touched[np.r_[True, touched[1:] != touched[:-1]]]
    start = np.full(touched.size, STARVED, dtype=np.int32)
    start[np.searchsorted(touched, guard)] = guard_from  # served at the start unless placed or shed this round
    start[np.searchsorted(touched, placed)] = STARVED
    start[np.searchsorted(touched, shed)] = shed_from
    end = trees.assignment[touched]
    moved = start != end
    idx, frm, to = pick(touched, moved), pick(start, moved), pick(end, moved)
    return RebalanceResult(
        moved=idx,
        moved_from=frm,
        moved_to=to,
        newly_starved=pick(idx, (frm >= 0) & (to == STARVED)),
        restored=pick(idx, (frm == STARVED) & (to >= 0)),
        shed=int(shed.size),
        overloaded=int(over.size),
        starved_count=trees.n_unplaced,
        starved_mw=starved_mw,
        passes=passes,
        load=trees.load.copy(),
    )
