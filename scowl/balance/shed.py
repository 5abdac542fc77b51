"""Shedding: which consumers an over-ceiling generator gives up."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from scowl.balance.arrays import BLOCK_16, bin_sums, isin_ints, pick
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
    risers = risers.astype(np.int32, copy=False)  # (candidates as int32 indices, int32 segments and float32 demand: 12 B each)
    rs, rd = EMPTY_S, EMPTY_D
    if risers.size:
        rs = _segments(trees, seg_of, risers)
        on = rs >= 0
        if not on.all():  # (masked copies only when some risers are on generators under their ceiling)
            risers, rs = pick(risers, on), pick(rs, on)
        del on
        rd = trees.demand[risers]
        by_risers = bin_sums(rs, rd, k, whole=0) >= excess
        use = by_risers[rs]
        if not use.all():
            risers, rs, rd = pick(risers, use), pick(rs, use), pick(rd, use)
        del use
    rest = gens[~by_risers]
    counts = trees.indexed_counts(rest)
    if int(counts.sum()) > _GROUP and rest.size > 1:  # (risers alone: one part, a second pass would cost more than it saves)
        return _shed_in_groups(trees, gens, seg_of, excess, by_risers, (risers, rs, rd), counts)
    mem, s, d = _candidates(trees, seg_of, trees.members(rest), (risers, rs, rd) if by_risers.any() else None)
    del risers, rs, rd  # (in mem, s, d now)
    take, sel, several = _single(trees, mem, s, d, excess)
    if several.size:
        n_sel = int(np.count_nonzero(sel))
        if n_sel <= _SORT_LIMIT:
            at = np.flatnonzero(sel)
            take[at] = _shed_sorted(mem[at], s[at], d[at], excess, k)
        elif n_sel == mem.size:  # (every candidate: no copies of them)
            take = _shed_many(mem, s, d, excess, several)
        else:
            take |= _shed_many(mem, s, d, excess, several, sel=sel)
    del sel
    # (every load drops by what it shed when all chose among risers: no recount)
    exact = np.zeros(k) if by_risers.all() else bin_sums(s, d, k, where=~take, whole=0)
    s_take = pick(s, take)
    dropped = trees.load[gens] - np.bincount(s_take, weights=pick(d, take), minlength=k)
    shed, shed_from = pick(mem, take).astype(np.int64), gens[s_take].astype(np.int32)
    del mem, s, d, take, s_take  # (not held while the trees note the shed: a long change log rebuilds the member index)
    trees.shed(shed, gens, np.where(by_risers, dropped, exact))
    return shed, shed_from


EMPTY_S = np.zeros(0, dtype=np.int32)
EMPTY_D = np.zeros(0, dtype=np.float32)
_GROUP = 1 << 18  # candidates past which `shed_overloaded` takes its generators a group at a time


def _segments(trees: Trees, seg_of: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The segment (`seg_of` of its generator; -1: not shedding) of each consumer of `idx`, int32."""
    out = np.empty(idx.size, dtype=np.int32)
    a_ = trees.assignment
    for a in range(0, idx.size, BLOCK_16):
        g = a_[idx[a : a + BLOCK_16]]
        g += 2
        out[a : a + BLOCK_16] = seg_of[g]
    return out


def _mask(n: int, test: Callable[[slice], np.ndarray]) -> NDArray[np.bool_]:
    """A mask over `n` candidates, `test(block)` for each block of them (its temporaries: a block long)."""
    out = np.empty(n, dtype=bool)
    for a in range(0, n, BLOCK_16):
        out[a : a + BLOCK_16] = test(slice(a, a + BLOCK_16))
    return out


def _max_of(a: np.ndarray, where: np.ndarray | None) -> int:
    """`int(a[where].max())` (None: of all), a block at a time; `where` selects some."""
    if where is None:
        return int(a.max())
    return max(int(a[b][where[b]].max()) for b in (slice(i, i + BLOCK_16) for i in range(0, a.size, BLOCK_16)) if where[b].any())


def _counts(bins: np.ndarray, n: int, where: np.ndarray | None = None) -> NDArray[np.int64]:
    """`np.bincount(bins[where], minlength=n)`, a block at a time (counts: the same in any order)."""
    out = np.zeros(n, dtype=np.int64)
    for a in range(0, bins.size, BLOCK_16):
        b = bins[a : a + BLOCK_16]
        out += np.bincount(b if where is None else b[where[a : a + BLOCK_16]], minlength=n)
    return out


def _candidates(trees: Trees, seg_of: np.ndarray, members: np.ndarray,
                first: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(consumers int32, segments int32, demand float32: float64 sums of float32 MW are the same
    sums) of `first`'s candidates (the risers') and then of `members`."""
    r = 0 if first is None else first[0].size
    n = r + members.size
    mem, s, d = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32), np.empty(n, dtype=np.float32)
    if first is not None:
        mem[:r], s[:r], d[:r] = first
    mem[r:] = members
    s[r:] = _segments(trees, seg_of, members)
    d[r:] = trees.demand[members]
    return mem, s, d


def _runs(segs: np.ndarray, weights: np.ndarray) -> list[np.ndarray]:
    """`segs` cut in runs of at most _GROUP candidates (`weights`) each; a heavier one alone."""
    out, a, acc = [], 0, 0
    for i, w in enumerate(weights.tolist()):
        if i > a and acc + w > _GROUP:
            out.append(segs[a:i])
            a, acc = i, 0
        acc += w
    return out + [segs[a:]] if segs.size else out


def _single(trees: Trees, mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the take mask where one candidate covers its generator's excess: the smallest such, lowest
    index among equals; a mask of the candidates of the other generators with any (`sel`: free
    ones; empty when there are none); those generators' segments)."""
    k, n = excess.size, mem.size
    take = np.zeros(n, dtype=bool)
    ok = _mask(n, lambda b: d[b] >= excess[s[b]])
    if trees.frozen is None:
        free = None
    else:  # frozen: never shed
        frozen = trees.frozen
        free = _mask(n, lambda b: ~frozen[mem[b]])
        ok &= free
    counts = _counts(s, k, free)
    s_ok = pick(s, ok)
    one = np.bincount(s_ok, minlength=k) > 0  # some single member covers the excess
    if one.any():
        smallest = np.full(k, np.inf)
        np.minimum.at(smallest, s_ok, pick(d, ok).astype(np.float64))
        tie = np.flatnonzero(ok & _mask(n, lambda b: d[b] == smallest[s[b]]))
        first = np.full(k, np.iinfo(np.int64).max)
        np.minimum.at(first, s[tie], mem[tie].astype(np.int64))
        take[tie[mem[tie] == first[s[tie]]]] = True
    del ok, s_ok
    many = ~one & (counts > 0)
    several = np.flatnonzero(many)
    if not several.size:
        return take, np.zeros(0, dtype=bool), several
    sel = _mask(n, lambda b: many[s[b]])
    if free is not None:
        sel &= free
    return take, sel, several


def _shed_in_groups(trees: Trees, gens: np.ndarray, seg_of: np.ndarray, excess: np.ndarray, by_risers: np.ndarray,
                    riser_part: tuple[np.ndarray, np.ndarray, np.ndarray], counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`shed_overloaded` for many members, its generators a group of at most ~_GROUP members at a
    time, not all at once (~50 B a candidate: a late round's 2.5 M, 130 MB; the risers chosen
    among stay one part). The same answer to the bit: each generator's choice and loads come from
    its own candidates in the same order (its risers; or its indexed members, then the change
    log's), the choice's route (one sort, or buckets from the same top bucket and width) is chosen
    over all of them first, and the shed come out in the order one pass lists them."""
    k = excess.size
    risers, rs, rd = riser_part
    parts = [(np.flatnonzero(by_risers), True)] if by_risers.any() else []  # (the risers in one part)
    parts += [(g, False) for g in _runs(np.flatnonzero(~by_risers), counts)]  # (rest's segments, in its order)

    def candidates(segs: np.ndarray, ris: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
        """(mem, s, d, positions of the change log's / the risers' entries, entries before those)."""
        if ris:
            inside = np.zeros(k, dtype=bool)
            inside[segs] = True
            pos = np.flatnonzero(inside[rs])
            return risers[pos], rs[pos], rd[pos], pos, 0
        base, pos, logged = trees.member_parts(gens[segs])
        return (*_candidates(trees, seg_of, np.concatenate([base, logged])), pos, base.size)

    n_sel, hi, lo = 0, -np.inf, np.inf  # the route, over every generator's candidates
    for segs, ris in parts:
        mem, s, d, _, _ = candidates(segs, ris)
        _, sel, _ = _single(trees, mem, s, d, excess)
        if sel.any():
            d_sel = pick(d, sel)
            n_sel += d_sel.size
            hi, lo = max(hi, float(d_sel.max())), min(lo, float(d_sel.min()))
    sorted_take = EMPTY_S
    if 0 < n_sel <= _SORT_LIMIT:  # one sort of them all (its order does not depend on theirs)
        got = [(pick(mem, sel), pick(s, sel), pick(d, sel)) for mem, s, d, _, _ in (candidates(g, r) for g, r in parts)
               for _, sel, _ in [_single(trees, mem, s, d, excess)] if sel.any()]
        m, s_, d_ = (np.concatenate(x) for x in zip(*got))
        sorted_take = np.sort(pick(m, _shed_sorted(m, s_, d_, excess, k)))
    top = int((np.array([hi]).view(np.uint64) >> _BUCKET_SHIFT)[0] & 0x3FFF) if n_sel else 0
    width = min(top - int((np.array([lo]).view(np.uint64) >> _BUCKET_SHIFT)[0] & 0x3FFF), _BUCKETS - 1) + 1 if n_sel else 0
    exact, dropped = np.zeros(k), trees.load[gens].copy()
    out: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # (order, positions, shed, their segments)
    for segs, ris in parts:
        mem, s, d, pos, nb = candidates(segs, ris)
        take, sel, several = _single(trees, mem, s, d, excess)
        if sel.any() and n_sel <= _SORT_LIMIT:
            take[sel] = isin_ints(pick(mem, sel), sorted_take)
        elif sel.any():
            take |= _shed_many(mem, s, d, excess, several, (top, width), sel)
        exact[segs] = bin_sums(s, d, k, where=~take, whole=0)[segs]
        s_take = pick(s, take)
        dropped[segs] -= np.bincount(s_take, weights=pick(d, take), minlength=k)[segs]
        at = np.flatnonzero(take)
        if ris:
            out.append((0, pos[at], mem[at], s_take))
        else:
            head = at < nb
            out += [(1, np.zeros(int(head.sum()), dtype=np.int64), mem[at[head]], s_take[head]),
                    (2, pos[at[~head] - nb], mem[at[~head]], s_take[~head])]
    shed_parts, seg_parts = [], []
    for order in (0, 1, 2):  # risers in their order, the indexed members group by group, the log's in its order
        mine = [o for o in out if o[0] == order]
        if mine:
            p = np.concatenate([o[1] for o in mine])
            ranked = np.argsort(p, kind="stable")
            shed_parts.append(np.concatenate([o[2] for o in mine])[ranked])
            seg_parts.append(np.concatenate([o[3] for o in mine])[ranked])
    shed = np.concatenate(shed_parts).astype(np.int64) if shed_parts else EMPTY_I
    shed_from = gens[np.concatenate(seg_parts)].astype(np.int32) if seg_parts else np.zeros(0, dtype=np.int32)
    del out, shed_parts, seg_parts, mem, s, d, take, sel  # (not held while the trees note the shed)
    trees.shed(shed, gens, np.where(by_risers, dropped, exact))
    return shed, shed_from


_SORT_LIMIT = 65_536  # members above which `shed_overloaded` sorts each generator's largest only


def _shed_sorted(mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray, k: int) -> np.ndarray:
    """`shed_overloaded`'s choice for many segments at once by one sort; returns the take mask."""
    order = np.lexsort((mem, -d, s))
    mem, s, d = mem[order], s[order], d[order]
    counts = np.bincount(s, minlength=k)
    st = np.cumsum(counts) - counts
    c0 = np.concatenate([[0.0], np.cumsum(d, dtype=np.float64)])
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


def _shed_many(mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray, segs: np.ndarray,
               scale: tuple[int, int] | None = None, sel: np.ndarray | None = None) -> np.ndarray:
    """`shed_overloaded`'s choice for generators `segs` with many candidates (consumers `mem`,
    demand `d` >= 0, generator's segment `s`), without a sort of them all nor a pass per generator:
    a histogram of demand per generator finds the buckets of its largest candidates that cover
    its excess, only those are sorted (by segment, demand descending, index), and each prefix is
    summed on its own from its first member (the sums a per-generator sort would make). Returns
    the take mask. `scale`: the top bucket and the number of buckets, when given (of a larger set).
    `sel`: a mask of the candidates to choose among (None: all), the others as if not given (no
    copies of the chosen: a late round's are most of ~1 M).
    """
    k, n = excess.size, mem.size
    cell = np.empty(n, dtype=np.int32)  # (the bucket's rank first, then its cell: one int32 a candidate)
    for a in range(0, n, BLOCK_16):  # monotone in d >= 0 (-0.0 as 0): a float64's bits (float32 to float64 is exact)
        cell[a : a + BLOCK_16] = (d[a : a + BLOCK_16].astype(np.float64).view(np.uint64) >> _BUCKET_SHIFT) & np.uint64(0x3FFF)
    top_bucket = _max_of(cell, sel) if scale is None else scale[0]  # (`scale`: a group's, from all groups' candidates)
    np.subtract(top_bucket, cell, out=cell)
    np.minimum(cell, _BUCKETS - 1, out=cell)  # the rank, 0: the largest demands
    width = _max_of(cell, sel) + 1 if scale is None else scale[1]
    for a in range(0, n, BLOCK_16):
        cell[a : a + BLOCK_16] += s[a : a + BLOCK_16] * width  # the cell: s * width + rank

    def rank(b: slice) -> np.ndarray:
        r: np.ndarray = cell[b] - s[b] * width
        return r

    hist = bin_sums(cell, d, k * width, where=sel, whole=0).reshape(k, width)
    reach = np.cumsum(hist, axis=1) >= (excess * (1.0 + 1e-9))[:, None]  # (far above the sums' rounding)
    cut = np.where(reach.any(axis=1), reach.argmax(axis=1), width - 1)  # a generator short of its excess: all
    top = np.flatnonzero(_mask(n, lambda b: rank(b) <= cut[s[b]] if sel is None else (rank(b) <= cut[s[b]]) & sel[b]))
    top = top[np.lexsort((mem[top], -d[top], s[top]))]
    counts = np.bincount(s[top], minlength=k)
    starts = np.cumsum(counts) - counts
    take = np.zeros(n, dtype=bool)
    rest = np.full(k, np.inf)
    last = np.zeros(k, dtype=np.int64)
    for j in segs.tolist():
        part = top[starts[j] : starts[j] + counts[j]]
        cs = np.cumsum(d[part], dtype=np.float64)
        m = min(int(np.searchsorted(cs, excess[j], side="left")) + 1, part.size)
        rest[j] = excess[j] - (cs[m - 2] if m > 1 else 0.0)
        take[part[: m - 1]] = True
        last[j] = part[m - 1]
    # then the smallest candidate (lowest index among equals) that covers what remains: in the
    # bucket of what remains, or else in the nearest bucket above with a candidate not taken
    rest_rank = np.clip(top_bucket - ((rest.view(np.uint64) >> _BUCKET_SHIFT) & np.uint64(0x3FFF)).astype(np.int64), 0, width - 1)
    left = (_counts(cell, k * width, sel) - np.bincount(cell[take], minlength=k * width)).reshape(k, width)
    above = (left > 0) & (np.arange(width) < rest_rank[:, None])
    near = np.where(above.any(axis=1), width - 1 - above[:, ::-1].argmax(axis=1), rest_rank)
    cover = np.flatnonzero(_mask(n, lambda b: ~take[b] & (d[b] >= rest[s[b]]) & (rank(b) >= near[s[b]]) & (True if sel is None else sel[b])))
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
