"""Verification: recompute everything (O(N)) and compare with what is maintained."""

from __future__ import annotations

from typing import Any

import numpy as np

from scowl.balance.trees import ABSENT, STARVED, Trees


class InvariantError(AssertionError):
    """`check_invariants` found the trees inconsistent; the message names what and by how much."""



def check_invariants(trees: Trees, safety_threshold: float = 0.10, *, rebalanced: bool = True, rtol: float = 1e-9) -> dict[str, Any]:
    """Recompute loads (O(N)) and raise InvariantError unless: maintained loads match;
    the index lists every consumer exactly once; the starved queue holds exactly the
    starved, longest starved first; and, if `rebalanced` (right after a
    round), no generator is over (1 - threshold) x output, and no starved consumer would fit
    in any generator's headroom, so that starved demand equals the deficit to within the
    leftover headroom (under one consumer per generator). Returns the recomputed figures."""
    a, d = trees.assignment, trees.demand.astype(np.float64)
    served = a >= 0
    exact = np.bincount(a[served], weights=d[served], minlength=trees.G).astype(np.float64)
    tol = rtol * max(1.0, float(d.sum()))
    err = np.abs(exact - trees.load)
    if err.size and err.max() > tol:
        g = int(err.argmax())
        raise InvariantError(f"generator {g}: maintained load {trees.load[g]!r} MW, recomputed {exact[g]!r} MW")
    if np.count_nonzero(a == STARVED) != trees.n_unplaced:
        raise InvariantError(f"n_unplaced is {trees.n_unplaced}, recomputed {np.count_nonzero(a == STARVED)}")
    for g in (STARVED, *range(trees.G)):
        got = np.sort(trees.members(np.array([g])))
        want = np.flatnonzero(a == g)
        if not np.array_equal(got, want):
            raise InvariantError(f"member index of generator {g}: {got.size} members listed, {want.size} assigned")
    queue = trees.starved()
    want = np.flatnonzero(a == STARVED)
    want = want[np.lexsort((want, trees.starved_from[want]))]
    if not np.array_equal(queue, want):
        raise InvariantError(f"starved queue: {queue.size} listed, {want.size} starved, or not longest starved first")
    cap = trees.cap(safety_threshold)
    starved = a == STARVED
    starved_mw = float(d[starved].sum())
    deficit = float(d[a != ABSENT].sum()) - float(cap.sum())
    figures = {"load_mw": exact, "starved_mw": starved_mw, "deficit_mw": deficit, "starved_count": int(starved.sum())}
    if not rebalanced:
        return figures
    over = exact - cap
    if over.size and over.max() > tol:
        g = int(over.argmax())
        raise InvariantError(f"generator {g}: load {exact[g]!r} MW over its ceiling {cap[g]!r} MW after a rebalance")
    if starved.any():
        head = np.maximum(cap - exact, 0.0)
        smallest = float(d[starved].min())
        if head.size and smallest <= head.max() - tol:
            g = int(head.argmax())
            raise InvariantError(
                f"a starved consumer of {smallest!r} MW fits in generator {g}'s headroom of {head[g]!r} MW"
            )
        if starved_mw < deficit - tol:
            raise InvariantError(f"starved demand {starved_mw!r} MW is below the deficit {deficit!r} MW")
    return figures
