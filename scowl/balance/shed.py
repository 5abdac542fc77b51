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
    seg_of = np.full(trees.G + 2, -1, dtype=np.int64)
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
        else:
            key = s[sel].astype(np.int16) if k < np.iinfo(np.int16).max else s[sel]
            sel = sel[np.argsort(key, kind="stable")]  # a radix sort on 16 bits
            bounds = np.asarray(np.searchsorted(s[sel], np.r_[several, k]))
            for j, lo, hi in zip(several, bounds[:-1], bounds[1:]):
                part = sel[lo:hi]
                take[part] = _shed_partial(mem[part], d[part], float(excess[j]))
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


def _shed_partial(mem: np.ndarray, d: np.ndarray, excess: float) -> np.ndarray:
    """`shed_overloaded`'s choice for one generator with many members: sort only the largest."""
    m = mem.size
    kth = min(m, max(16, int(2 * excess / max(float(d.mean()), 1e-300)) + 1))
    while True:
        cut = -np.partition(-d, kth - 1)[kth - 1] if kth < m else -np.inf
        top = np.flatnonzero(d >= cut)  # every member tied at the cut, so ties resolve by index
        if kth >= m or d[top].sum() >= excess:
            break
        kth = min(m, 4 * kth)
    top = top[np.lexsort((mem[top], -d[top]))]
    cs = np.cumsum(d[top])
    n = min(int(np.searchsorted(cs, excess, side="left")) + 1, top.size)
    rest = excess - (cs[n - 2] if n > 1 else 0.0)
    take = np.zeros(m, dtype=bool)
    take[top[: n - 1]] = True
    ok = ~take & (d >= rest)
    if ok.any():
        v = d[ok].min()
        tie = np.flatnonzero(ok & (d == v))
        take[tie[np.argmin(mem[tie])]] = True
    else:  # loads drifted above the members' sum: take the prefix's last as well
        take[top[n - 1]] = True
    return take
