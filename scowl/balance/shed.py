"""Shedding: which consumers an over-ceiling generator gives up."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from scowl.balance.arrays import pick
from scowl.balance.trees import EMPTY_I, Trees


def shed_overloaded(
    trees: Trees, gens: np.ndarray, cap: np.ndarray, risers: np.ndarray = EMPTY_I
) -> tuple[np.ndarray, np.ndarray]:
    """Unplace the fewest consumers that bring each of `gens` at or under `cap`, choosing
    among its `risers` (consumers whose demand rose since the last round) when they alone
    can cover its excess, otherwise among all its members.

    Per generator, on its candidates ordered largest first (ties by lower index): take the
    shortest prefix whose demand covers the excess, then swap the prefix's last pick for the
    smallest candidate that still covers what remains (ties by lower index). Three routes
    give that same answer: one consumer suffices (a vectorized minimum, the common case), a
    full sort when the candidates concerned are few, a partial sort per generator when they
    are many. Loads of generators that chose among all members are then set exactly from
    their remaining members; the others' drop by what they shed.
    Returns (shed consumer indices, their generator)."""
    k = gens.size
    seg_of = np.full(trees.G + 2, -1, dtype=np.int32)  # (a candidate's segment: int32, 4 B a candidate)
    seg_of[gens + 2] = np.arange(k)
    excess = trees.load[gens] - cap[gens]
    by_risers = np.zeros(k, dtype=bool)
    if risers.size and trees.frozen is not None:
        risers = pick(risers, ~trees.frozen[risers])
    if risers.size:
        rs = seg_of[trees.assignment[risers] + 2]
        on = rs >= 0
        if not on.all():  # (masked copies only when some risers are on generators under their ceiling)
            risers, rs = pick(risers, on), pick(rs, on)
        rd = trees.demand[risers].astype(np.float64)
        by_risers = np.bincount(rs, weights=rd, minlength=k) >= excess
        use = by_risers[rs]
        if not use.all():
            risers, rs, rd = pick(risers, use), pick(rs, use), pick(rd, use)
    mem = trees.members(gens[~by_risers])
    s = seg_of[trees.assignment[mem] + 2]
    d = trees.demand[mem].astype(np.float64)
    if by_risers.any():
        if mem.size:
            mem, s, d = np.concatenate([risers, mem]), np.concatenate([rs, s]), np.concatenate([rd, d])
        else:
            mem, s, d = risers, rs, rd
    take = np.zeros(mem.size, dtype=bool)
    if trees.frozen is None:
        free, s_free, ok = None, s, d >= excess[s]
    else:  # frozen: never shed
        free = ~trees.frozen[mem]
        s_free, ok = pick(s, free), (d >= excess[s]) & free
    counts = np.bincount(s_free, minlength=k)
    s_ok = pick(s, ok)
    one = np.bincount(s_ok, minlength=k) > 0  # some single member covers the excess
    if one.any():
        smallest = np.full(k, np.inf)
        np.minimum.at(smallest, s_ok, pick(d, ok))
        tie = ok & (d == smallest[s])
        first = np.full(k, np.iinfo(np.int64).max)
        np.minimum.at(first, pick(s, tie), pick(mem, tie))
        take |= tie & (mem == first[s])
    several = np.flatnonzero(~one & (counts > 0))
    if several.size:
        sel = np.flatnonzero((~one & (counts > 0))[s] if free is None else (~one & (counts > 0))[s] & free)
        if sel.size <= _SORT_LIMIT:
            take[sel] = _shed_sorted(mem[sel], s[sel], d[sel], excess, k)
        elif sel.size == mem.size:  # (every candidate: no copies of them)
            take = _shed_many(mem, s, d, excess, several)
        else:
            take[sel] = _shed_many(mem[sel], s[sel], d[sel], excess, several)
    keep = ~take
    # (every load drops by what it shed when all chose among risers: no recount)
    exact = np.zeros(k) if by_risers.all() else np.bincount(pick(s, keep), weights=pick(d, keep), minlength=k)
    s_take = pick(s, take)
    dropped = trees.load[gens] - np.bincount(s_take, weights=pick(d, take), minlength=k)
    shed, shed_from = pick(mem, take), gens[s_take].astype(np.int32)
    trees.shed(shed, gens, np.where(by_risers, dropped, exact))
    return shed, shed_from


_SORT_LIMIT = 65_536  # members above which `shed_overloaded` sorts each generator's largest only


def _shed_sorted(mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray, k: int) -> np.ndarray:
    """`shed_overloaded`'s choice for many segments at once by one sort; returns the take mask."""
    order = np.lexsort((mem, -d, s))
    mem, s, d = mem[order], s[order], d[order]
    counts = np.bincount(s, minlength=k)
    st = np.cumsum(counts) - counts
    c0 = np.concatenate([[0.0], np.cumsum(d)])
    before = c0[:-1] - c0[st][s]  # demand of larger members of the same generator
    take = before < excess[s]
    ntake = np.bincount(s[take], minlength=k)
    has = ntake > 0
    jstar = np.where(has, st + ntake - 1, np.iinfo(np.int64).max)
    rem = np.zeros(k)
    rem[has] = excess[has] - before[jstar[has]]
    pos = np.arange(mem.size)
    fits = (pos >= jstar[s]) & (d >= rem[s])  # contiguous from jstar: d is descending
    nfit = np.maximum(np.bincount(s[fits], minlength=k), 1)
    smallest = np.zeros(k)
    smallest[has] = d[jstar[has] + nfit[has] - 1]  # the smallest member that covers the rest
    larger = (pos >= jstar[s]) & (d > smallest[s])
    pstar = jstar[has] + np.bincount(s[larger], minlength=k)[has]  # its lowest index among equals
    take[jstar[has]] = False
    take[pstar] = True
    out: NDArray[np.bool_] = np.empty_like(take)
    out[order] = take
    return out


_BUCKET_SHIFT = np.uint64(49)  # a float64's sign, exponent and 3 mantissa bits: 8 buckets of demand per octave
_BUCKETS = 1024  # at most, smallest demands in the last one


def _shed_many(mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray, segs: np.ndarray) -> np.ndarray:
    """`shed_overloaded`'s choice for generators `segs` with many candidates (consumers `mem`,
    demand `d` >= 0, generator's segment `s`), without a sort of them all nor a pass per generator:
    a histogram of demand per generator finds the buckets of its largest candidates that cover
    its excess, only those are sorted (by segment, demand descending, index), and each prefix is
    summed on its own from its first member (the sums a per-generator sort would make). Returns
    the take mask."""
    k = excess.size
    bits = ((d.view(np.uint64) >> _BUCKET_SHIFT) & np.uint64(0x3FFF)).astype(np.int32)  # monotone in d >= 0 (-0.0 as 0)
    top_bucket = int(bits.max())
    rank = np.minimum(top_bucket - bits, _BUCKETS - 1)  # 0: the largest demands
    width = int(rank.max()) + 1
    cell = s * width + rank
    hist = np.bincount(cell, weights=d, minlength=k * width).reshape(k, width)
    reach = np.cumsum(hist, axis=1) >= (excess * (1.0 + 1e-9))[:, None]  # (far above the sums' rounding)
    cut = np.where(reach.any(axis=1), reach.argmax(axis=1), width - 1)  # a generator short of its excess: all
    top = np.flatnonzero(rank <= cut[s])
    top = top[np.lexsort((mem[top], -d[top], s[top]))]
    counts = np.bincount(s[top], minlength=k)
    starts = np.cumsum(counts) - counts
    take = np.zeros(mem.size, dtype=bool)
    rest = np.full(k, np.inf)
    last = np.zeros(k, dtype=np.int64)
    for j in segs.tolist():
        part = top[starts[j] : starts[j] + counts[j]]
        cs = np.cumsum(d[part])
        n = min(int(np.searchsorted(cs, excess[j], side="left")) + 1, part.size)
        rest[j] = excess[j] - (cs[n - 2] if n > 1 else 0.0)
        take[part[: n - 1]] = True
        last[j] = part[n - 1]
    # then the smallest candidate (lowest index among equals) that covers what remains: in the
    # bucket of what remains, or else in the nearest bucket above with a candidate not taken
    rest_rank = np.clip(top_bucket - ((rest.view(np.uint64) >> _BUCKET_SHIFT) & np.uint64(0x3FFF)).astype(np.int64), 0, width - 1)
    left = (np.bincount(cell, minlength=k * width) - np.bincount(cell[take], minlength=k * width)).reshape(k, width)
    above = (left > 0) & (np.arange(width) < rest_rank[:, None])
    near = np.where(above.any(axis=1), width - 1 - above[:, ::-1].argmax(axis=1), rest_rank)
    cover = np.flatnonzero(~take & (d >= rest[s]) & (rank >= near[s]))
    # (demand is float32 MW in the trees, so its float32 bits order it exactly; indices < 2^32)
    key = (d[cover].astype(np.float32).view(np.uint32).astype(np.uint64) << np.uint64(32)) | mem[cover].astype(np.uint64)
    best = np.full(k, np.iinfo(np.uint64).max, dtype=np.uint64)
    np.minimum.at(best, s[cover], key)
    found = best[segs] != np.iinfo(np.uint64).max
    chosen = np.full(k, -1, dtype=np.int64)
    chosen[segs[found]] = (best[segs[found]] & np.uint64(0xFFFFFFFF)).astype(np.int64)
    take[pick(cover, mem[cover] == chosen[s[cover]])] = True
    take[last[segs[~found]]] = True  # loads drifted above the members' sum: the prefix's last as well
    return take
