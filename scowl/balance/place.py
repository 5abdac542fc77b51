"""Placement: which generator each unplaced consumer goes to (cumulative-sum passes)."""

from __future__ import annotations

import numpy as np

from scowl.balance.arrays import argsort_demand, bin_sums
from scowl.balance.trees import STARVED

MAX_PASSES = 64  # placement passes per round; in practice two to five are needed
_BLOCK = 1 << 18  # consumers a fit pass lays per block


def _fit_pass(d: np.ndarray, room: np.ndarray, gen_order: np.ndarray, order: np.ndarray | None = None,
              out: np.ndarray | None = None) -> np.ndarray:
    """Lay consumers (demand `d`, in order; or `d[order]`, then each one's generator is written to
    `out` at its index in `d`) end to end over generators' `room` (in `gen_order`); a consumer is
    placed where it lies entirely inside one generator's room. Returns the generator per consumer,
    -1 where it straddles a boundary or runs past the end. Only the prefix that ends within the
    total room is searched, in blocks: the running sums are np.cumsum's of the whole (sequential),
    one block at a time, so a first round placing millions holds no array as long as the region."""
    size = d.size if order is None else order.size
    if out is None:
        out = np.full(size, STARVED, dtype=np.int32)
    if not gen_order.size or not size:
        return out
    h = np.cumsum(room[gen_order])
    carry = np.zeros(1)
    for a in range(0, size, _BLOCK):
        part = d[a : a + _BLOCK] if order is None else d[order[a : a + _BLOCK]]
        e = np.cumsum(np.concatenate([carry, part]))[1:]
        carry = e[-1:]
        n = int(np.searchsorted(e, h[-1], side="right"))  # beyond: ends past the last room
        e, part = e[:n], part[:n]
        k = np.searchsorted(h, e - part, side="right")
        ok = e <= h[np.minimum(k, h.size - 1)]
        ok &= k < h.size
        placed = np.flatnonzero(ok) + a
        out[placed if order is None else order[placed]] = gen_order[k[ok]]
        if n < _BLOCK:
            break
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
    head = argsort_demand(d[:k], descending=True, int32=True) if k > 1 else np.arange(min(k, d.size))
    order = np.empty(d.size, dtype=np.int32 if d.size < 2**31 else np.intp)  # (made after the sort: not held through it)
    order[: head.size] = head
    del head
    order[k:] = np.arange(k, d.size)
    _fit_pass(d, quota, np.flatnonzero(quota > 0), order=order, out=gen)  # (gen: STARVED unless placed)
    placed = gen >= 0
    if placed.any():
        load += bin_sums(gen, d, load.size, where=placed)  # (np.bincount's sums, without copies of the region's length)
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
