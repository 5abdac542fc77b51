"""Placement: which generator each unplaced consumer goes to (cumulative-sum passes)."""

from __future__ import annotations

import numpy as np

from scowl.balance.trees import STARVED

MAX_PASSES = 64  # placement passes per round; in practice two to five are needed


def _fit_pass(d: np.ndarray, room: np.ndarray, gen_order: np.ndarray) -> np.ndarray:
    """Lay consumers (demand `d`, in order) end to end over generators' `room` (in
    `gen_order`); a consumer is placed where it lies entirely inside one generator's room.
    Returns the generator per consumer, -1 where it straddles a boundary or runs past the end."""
    out = np.full(d.size, STARVED, dtype=np.int32)
    if not gen_order.size or not d.size:
        return out
    h = np.cumsum(room[gen_order])
    end = np.cumsum(d)
    start = end - d
    k = np.searchsorted(h, start, side="right")
    ok = k < h.size
    ok[ok] = end[ok] <= h[k[ok]]
    out[ok] = gen_order[k[ok]]
    return out


def _plan(d: np.ndarray, load: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, int]:
    """Choose a generator for each consumer of demand `d` (priority order), or -1.

    Pass 1 spreads towards equal utilisation: each generator's quota is what brings it to
    f x cap, with f the region's utilisation after placement (capped at 1), generators in
    index order. Later passes pack what is left, smallest first, into the generators with
    most headroom first, until no leftover consumer fits in any generator's headroom.
    Returns (generator per consumer, passes)."""
    gen = np.full(d.size, STARVED, dtype=np.int32)
    load = load.copy()
    total_cap = float(cap.sum())
    if not d.size or total_cap <= 0:
        return gen, 0
    head = np.maximum(cap - load, 0.0)
    f = min(1.0, (float(load.sum()) + float(d.sum())) / total_cap)
    quota = np.clip(f * cap - load, 0.0, head)
    gen = _fit_pass(d, quota, np.flatnonzero(quota > 0))
    placed = gen >= 0
    load += np.bincount(gen[placed], weights=d[placed], minlength=load.size)
    passes = 1
    rest = np.flatnonzero(~placed)
    while rest.size and passes < MAX_PASSES:
        head = cap - load
        room = np.flatnonzero(head > 0)
        if not room.size:
            break
        room = room[np.lexsort((room, -head[room]))]  # most headroom first, ties by index
        cand = rest[d[rest] <= head[room[0]]]
        if not cand.size:
            break
        passes += 1
        if passes == 2:  # spread the first pass's leftovers: one per generator, in priority order
            m = min(cand.size, room.size)
            cand, g = cand[:m], room[:m].astype(np.int32)
            g[d[cand] > head[g]] = STARVED
        else:  # pack: smallest first, ties by priority
            cand = cand[np.argsort(d[cand], kind="stable")]
            g = _fit_pass(d[cand], head, room)
        ok = g >= 0
        if not ok.any() and passes > 2:
            break
        gen[cand[ok]] = g[ok]
        load += np.bincount(g[ok], weights=d[cand[ok]], minlength=load.size)
        rest = np.flatnonzero(gen == STARVED)
    return gen, passes
