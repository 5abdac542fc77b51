"""Placement: which generator each unplaced consumer goes to (cumulative-sum passes)."""

from __future__ import annotations

import numpy as np

from scowl.balance.arrays import argsort_demand
from scowl.balance.trees import STARVED

MAX_PASSES = 64  # placement passes per round; in practice two to five are needed
_BLOCK = 1 << 18  # consumers a fit pass lays per block


def _fit_pass(d: np.ndarray, room: np.ndarray, gen_order: np.ndarray) -> np.ndarray:
    """Lay consumers (demand `d`, in order) end to end over generators' `room` (in
    `gen_order`); a consumer is placed where it lies entirely inside one generator's room.
    Returns the generator per consumer, -1 where it straddles a boundary or runs past the end.
    Only the prefix that ends within the total room is searched."""
    out = np.full(d.size, STARVED, dtype=np.int32)
    if not gen_order.size or not d.size:
        return out
    h = np.cumsum(room[gen_order])
    end = np.cumsum(d)
    n = int(np.searchsorted(end, h[-1], side="right"))  # beyond: ends past the last room
    for a in range(0, n, _BLOCK):  # in blocks: a region's first round places millions, temporaries stay small
        b = min(n, a + _BLOCK)
        e = end[a:b]
        k = np.searchsorted(h, e - d[a:b], side="right")
        ok = e <= h[np.minimum(k, h.size - 1)]
        ok &= k < h.size
        out[a:b][ok] = gen_order[k[ok]]
    return out


def _roomiest(cap: np.ndarray, load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Headroom per generator and the generators with some, most first (ties by index)."""
    head = cap - load
    room = np.flatnonzero(head > 0)
    return head, room[np.argsort(-head[room], kind="stable")]  # room ascending: ties by index


def _smallest(pool: np.ndarray, d: np.ndarray, room_mw: float) -> tuple[np.ndarray, float]:
    """Of `pool` (priority order), the smallest consumers (ties by priority), sorted so,
    that packing passes over `room_mw` of total headroom could place: each placed one has
    its whole prefix of smaller ones within that total, as every pass's placements come out
    of it. Returns them and the smallest demand left out (inf if none)."""
    dp = d[pool]
    limit = room_mw * (1.0 + 1e-6) + 1e-12  # far above the cumulative sums' rounding
    if float(dp.sum()) > limit:
        kth = min(pool.size, max(64, 2 * int(limit / max(float(dp.mean()), 1e-300)) + 1))
        while True:
            cut = np.partition(dp, kth - 1)[kth - 1]
            mask = dp <= cut  # every consumer tied at the cut
            if kth == pool.size or float(dp[mask].sum()) > limit:
                break
            kth = min(pool.size, 4 * kth)
        extra_min = float(dp[~mask].min()) if not mask.all() else np.inf
        pool, dp = pool[mask], dp[mask]
    else:
        extra_min = np.inf
    return pool[argsort_demand(dp)], extra_min


def plan_placement(d: np.ndarray, load: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, int]:
    """Choose a generator for each consumer of demand `d` (priority order), or -1.

    Pass 1 spreads towards equal utilisation: each generator's quota is what brings it to
    f x cap, with f the region's utilisation after placement (capped at 1), generators in
    index order; of the priority prefix that fits the quotas' sum, the largest are laid first. Pass 2 gives the first pass's leftovers that fit the roomiest generator one
    generator each, in priority order. Later passes pack what is left, smallest first (ties
    by priority), into the generators with most headroom first, until no leftover consumer
    fits in any generator's headroom. Those later passes sort their candidates once: each
    pass's candidates are a subset of the first's, in the same order.
    Returns (generator per consumer, passes)."""
    gen = np.full(d.size, STARVED, dtype=np.int32)
    load = load.copy()
    total_cap = float(cap.sum())
    if not d.size or total_cap <= 0:
        return gen, 0
    head = np.maximum(cap - load, 0.0)
    f = min(1.0, (float(load.sum()) + float(d.sum())) / total_cap)
    quota = np.clip(f * cap - load, 0.0, head)
    # first fit decreasing within the priority prefix that fits the aggregate quota: the
    # same consumers are in, but the large ones are laid first, not left for the gaps
    k = int(np.searchsorted(np.cumsum(d), float(quota.sum()), side="right"))
    order = np.arange(d.size)
    if k > 1:
        order[:k] = argsort_demand(d[:k], descending=True)
    gen[order] = _fit_pass(d[order], quota, np.flatnonzero(quota > 0))
    placed = gen >= 0
    if placed.any():
        load += np.bincount(gen[placed], weights=d[placed], minlength=load.size)
    if placed.all():
        return gen, 1
    # Pass 2: one per generator, in priority order.
    head, room = _roomiest(cap, load)
    if not room.size or MAX_PASSES < 2:
        return gen, 1
    rest = np.flatnonzero(~placed)
    cand = rest[d[rest] <= head[room[0]]]
    if not cand.size:
        return gen, 1
    m = min(cand.size, room.size)
    first, g = cand[:m], room[:m].astype(np.int32)
    ok = d[first] <= head[g]
    gen[first[ok]] = g[ok]
    load += np.bincount(g[ok], weights=d[first[ok]], minlength=load.size)
    passes = 2
    # Later passes: pack, smallest first, from `pool` sorted by (demand, priority).
    head, room = _roomiest(cap, load)
    pool, extra_min = _smallest(np.concatenate([first[~ok], cand[m:]]), d, float(head[room].sum()))
    dp = d[pool]
    while passes < MAX_PASSES:
        head, room = _roomiest(cap, load)
        if not room.size:
            break
        n = int(np.searchsorted(dp, head[room[0]], side="right"))
        if not n:
            passes += extra_min <= head[room[0]]  # a pass that would have found nothing
            break
        passes += 1
        g = _fit_pass(dp[:n], head, room)
        ok = g >= 0
        if not ok.any():
            break
        gen[pool[:n][ok]] = g[ok]
        load += np.bincount(g[ok], weights=dp[:n][ok], minlength=load.size)
        keep = np.concatenate([~ok, np.ones(pool.size - n, dtype=bool)])
        pool, dp = pool[keep], dp[keep]
    return gen, passes
