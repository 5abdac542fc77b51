"""Rotating outages: when supply is short, who starves takes turns, as utilities rotate them.

After a round's placement, consumers still starved who have starved `after` rounds (ticks)
longer than some served consumer swap with the least starved so far: the most starved come in
first, placed largest first (first fit decreasing) on the room the outgoing would free, and on
each generator that needs it the served members with the least starved time so far (ties by
index) give it up, only as many as that generator needs. What the swap cannot use goes back
to the outgoing in a last placement pass, so nothing fits in leftover room while starved.
So the shortfall's starved time is shared, bounded by each consumer's starved time so far,
and no class (large commercial loads shed first, small homes packed into the gaps) carries
it alone. Pure: mutates only the `Trees` it is given; ties broken by index.
"""

from __future__ import annotations

import numpy as np

from scowl.balance.arrays import argsort_demand, pick
from scowl.balance.place import plan_placement
from scowl.balance.round import RebalanceResult
from scowl.balance.shed import shed_overloaded
from scowl.balance.trees import EMPTY_G, EMPTY_I, STARVED, Trees

ROTATE_AFTER = 3  # rounds (ticks): a starved consumer swaps in once it has starved this much longer than one served


def _swap_plan(trees: Trees, cap: np.ndarray, after: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(incoming consumers, their generator, outgoing consumers) of one rotation; empty if none is due."""
    q = trees.starved()  # most starved so far first
    a = trees.assignment
    served = a >= 0  # (masks over the region, not index lists: fewer passes over millions)
    if not q.size or not served.any():
        return EMPTY_I, EMPTY_G, EMPTY_I
    past = trees.starved_past
    ts = trees.round - trees.starved_from[q].astype(np.int64)
    least = int(past.min(where=served, initial=np.iinfo(past.dtype).max))  # least starved served consumer
    due = int(np.searchsorted(-ts, -(least + after), side="right"))  # ts descending: a prefix
    if not due:
        return EMPTY_I, EMPTY_G, EMPTY_I
    inc = q[:due]
    cand = np.flatnonzero(served & (past <= int(ts[due - 1]) - after))  # every incoming has starved `after` longer
    d = trees.demand
    a_cand = a[cand]
    free = np.bincount(a_cand, weights=d[cand], minlength=trees.G)
    d_in = d[inc].astype(np.float64)
    order = argsort_demand(d_in, descending=True)  # largest first
    gen, _ = plan_placement(d_in[order], trees.load - free, cap)
    ok = gen >= 0
    inc, gen = pick(inc[order], ok), pick(gen, ok)
    if not inc.size:
        return EMPTY_I, EMPTY_G, EMPTY_I
    need = trees.load + np.bincount(gen, weights=d[inc], minlength=trees.G) - cap
    on_short = (need > 0)[a_cand]
    sel, g = pick(cand, on_short), pick(a_cand, on_short)
    by = _by_generator_then_past(g, past[sel])  # least starved first, ties by index
    sel, g = sel[by], g[by]
    d_sel = d[sel]
    cs = np.cumsum(d_sel.astype(np.float64))
    counts = np.bincount(g, minlength=trees.G)
    first = np.cumsum(counts) - counts
    base = np.where(first > 0, cs[np.maximum(first - 1, 0)], 0.0)
    before = cs - d_sel - base[g]  # demand given up on that generator before this member
    out = pick(sel, before < need[g])
    return inc, gen.astype(np.int32), out


def _by_generator_then_past(gen: np.ndarray, past: np.ndarray) -> np.ndarray:
    """The order of consumers (given in index order) by generator, then rounds starved in past
    spells, then index: one stable sort of a combined key (a radix sort when it fits 16 bits),
    not a three-key lexsort."""
    if not gen.size:
        return EMPTY_I
    width = int(past.max()) + 1
    key = gen.astype(np.int64) * width + past
    if int(key.max()) < np.iinfo(np.uint16).max:
        key = key.astype(np.uint16)
    return np.argsort(key, kind="stable")


def _mark(n: int, *parts: np.ndarray) -> np.ndarray:
    """The indices in any of `parts`, unique and ascending (a mask of `n`: no sort)."""
    mark = np.zeros(n, dtype=bool)
    for p in parts:
        mark[p] = True
    return np.flatnonzero(mark)


def rotate(trees: Trees, safety_threshold: float = 0.10, after: int = ROTATE_AFTER) -> RebalanceResult:
    """One rotation (see the module's docstring) after a round's placement; returns what it
    changed against its start, like `rebalance`."""
    cap = trees.cap(safety_threshold)
    inc, gen, out = _swap_plan(trees, cap, after)
    if not inc.size:
        return RebalanceResult(EMPTY_I, EMPTY_G, EMPTY_G, EMPTY_I, EMPTY_I, 0, 0, trees.n_unplaced,
                               float(trees.demand[trees.starved()].astype(np.float64).sum()), 0, trees.load.copy())
    out_from = trees.assignment[out].copy()
    trees.move(out, np.full(out.size, STARVED, dtype=np.int32))
    trees.move(inc, gen)
    rest = trees.starved()  # what the swap could not use goes back, most starved first
    g2, passes = plan_placement(trees.demand[rest].astype(np.float64), trees.load, cap)
    ok = g2 >= 0
    back = pick(rest, ok)
    trees.move(back, pick(g2, ok))
    trees.requeue(pick(rest, ~ok))
    viol = np.flatnonzero(trees.load > cap)  # float rounding between plans and loads
    guard, guard_from = shed_overloaded(trees, viol, cap) if viol.size else (EMPTY_I, EMPTY_G)
    touched = _mark(trees.n, out, inc, back, guard)
    start = trees.assignment[touched].copy()
    start[np.searchsorted(touched, guard)] = guard_from
    start[np.searchsorted(touched, inc)] = STARVED
    start[np.searchsorted(touched, back)] = STARVED
    start[np.searchsorted(touched, out)] = out_from  # served at the start (some placed again)
    end = trees.assignment[touched]
    moved = start != end
    idx, frm, to = pick(touched, moved), pick(start, moved), pick(end, moved)
    starved = trees.starved()
    return RebalanceResult(moved=idx, moved_from=frm, moved_to=to, newly_starved=pick(idx, (frm >= 0) & (to == STARVED)),
                           restored=pick(idx, (frm == STARVED) & (to >= 0)), shed=int(out.size), overloaded=0,
                           starved_count=trees.n_unplaced,
                           starved_mw=float(trees.demand[starved].astype(np.float64).sum()), passes=passes,
                           load=trees.load.copy())
