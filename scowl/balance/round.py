"""One round of the policy: shed, place, starve the rest, report what changed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scowl.balance.arrays import pick
from scowl.balance.place import plan_placement
from scowl.balance.shed import shed_overloaded
from scowl.balance.trees import EMPTY_G, EMPTY_I, STARVED, Trees

PLACE_BLOCK = 1 << 18  # unplaced consumers a round places at a time (a first round places millions)


@dataclass(frozen=True)
class RebalanceResult:
    """What one round changed. Indices are consumer indices, sorted ascending (int64; int32 where
    a round placed more than `PLACE_BLOCK` consumers: a first round lists millions).

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
    if not over.size:
        trees.take_risers()
        if not trees.n_unplaced:
            return RebalanceResult(EMPTY_I, EMPTY_G, EMPTY_G, EMPTY_I, EMPTY_I, 0, 0, 0, 0.0, 0, trees.load.copy())
        shed, shed_from = EMPTY_I, EMPTY_G
    else:  # (the risers not held here while it sheds: a late round's ~0.7 M, int64)
        shed, shed_from = shed_overloaded(trees, over, cap, trees.take_risers())
    placed, starved_mw, passes = _place_queue(trees, cap)
    # Guard against float rounding between the plan's sums and the loads' sums.
    viol = np.flatnonzero(trees.load > cap)
    guard, guard_from = shed_overloaded(trees, viol, cap) if viol.size else (EMPTY_I, EMPTY_G)
    starved_mw += float(trees.demand[guard].astype(np.float64).sum())
    if not shed.size and not guard.size and (placed.size < 2 or bool((placed[1:] > placed[:-1]).all())):
        # only placements, in index order (a first round places millions): they are what moved
        idx = placed if placed.size > PLACE_BLOCK else placed.astype(np.int64, copy=False)  # (millions: int32)
        return RebalanceResult(idx, all_starved(idx.size), trees.assignment[idx], EMPTY_I, idx, 0, int(over.size),
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


def all_starved(n: int) -> np.ndarray:
    """`n` x STARVED (int32) as a read-only broadcast view: no memory (a first round's moved_from, every one)."""
    return np.broadcast_to(np.array(STARVED, dtype=np.int32), (n,))


def _place_queue(trees: Trees, cap: np.ndarray) -> tuple[np.ndarray, float, int]:
    """Place the starved queue (most starved so far first) where it fits, a block of
    `PLACE_BLOCK` at a time in queue order, loads updated after each block (so the next block
    plans on them); requeue the rest in order. A queue of one block is one `plan_placement`;
    a longer one (a first round: millions) holds per block only the block's temporaries, and
    each block spreads towards equal utilisation with what it adds. Returns (placed, MW left
    unplaced, passes: the most any block took); where they went is the trees' assignment. A long
    queue marks which it placed (1 byte each) and lists them at the end: round 0's 2.6 M placed
    were listed block by block beside their generators (int32 each, 21 MB at its peak)."""
    unplaced = trees.starved()
    n = unplaced.size
    if n > PLACE_BLOCK:
        took = np.empty(n, dtype=bool)  # (which of the queue were placed)
    rest: list[np.ndarray] = []
    trees.hold_index(n > PLACE_BLOCK)
    starved_mw, passes = 0.0, 0
    for a in range(0, max(n, 1), PLACE_BLOCK):
        q = unplaced[a : a + PLACE_BLOCK]
        d = trees.demand[q].astype(np.float64)
        if trees.frozen is None:
            gen, p = plan_placement(d, trees.load, cap)
        else:  # frozen consumers stay unplaced
            free = ~trees.frozen[q]
            part, p = plan_placement(d[free], trees.load, cap)
            gen = np.full(q.size, STARVED, dtype=part.dtype)
            gen[free] = part
        passes = max(passes, p)
        ok = gen >= 0
        block, block_on = pick(q, ok), pick(gen, ok)
        if n <= PLACE_BLOCK:
            placed = block
        else:
            took[a : a + q.size] = ok
        starved_mw += float(pick(d, ~ok).sum())
        del d, gen  # (a first round places millions: its peak holds only what it placed)
        trees.move(block, block_on)
        del block, block_on
        rest.append(pick(q, ~ok))
    trees.hold_index(False)
    trees.requeue(rest[0] if len(rest) == 1 else np.concatenate(rest))
    if n > PLACE_BLOCK:
        del rest
        placed = unplaced if bool(took.all()) else pick(unplaced, took)  # (queue order: the blocks' in turn)
    return placed, starved_mw, passes
