"""The tracker's balancing policy: ephemeral distribution trees kept as numpy arrays.

A tracker's region is G generators and N consumers (N up to millions), never per-peer
objects. `Trees` holds them; `rebalance` runs one round of the policy:

  (a) shed: every generator whose load exceeds (1 - threshold) x output gives up its
      fewest consumers that bring it at or under (largest first, the last pick swapped for
      the smallest consumer that still suffices);
  (b) place: every unplaced consumer (just shed, previously starved, new joiner), oldest
      starvation first, goes to a generator with headroom so that no generator exceeds
      (1 - threshold) x output. Vectorized cumulative-sum placement: a first pass spreads
      load towards equal utilisation, later passes pack the leftovers smallest first into the
      roomiest generators, until nothing left fits anywhere;
  (c) whatever is left is starved (assignment -1).

Units: every power is MW. Consumer demand is float32 MW (a 1.3 kW household is 0.0013);
generator output and load are float64 MW. Assignment is int32: a generator index,
STARVED (-1) or ABSENT (-2: handed to a peer tracker, ignored everywhere).

Per-generator load is maintained incrementally (bincount over the changed consumers
only). A generator's members are found through a lazy index: a CSR snapshot of the
assignment sorted by generator, plus a log of consumers reassigned since the snapshot; the
snapshot is rebuilt (an O(N) radix sort) when the log exceeds N/16.

Every function here is pure in the sense that matters for a simulation: no I/O, no clock,
no randomness, ties broken by index; they mutate the `Trees` they are given (copying
millions of entries per round is not an option) and report what changed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ABSENT",
    "STARVED",
    "AcceptResult",
    "InvariantError",
    "RebalanceResult",
    "RegionSummary",
    "Trees",
    "accept_consumers",
    "check_invariants",
    "pick_handover",
    "rebalance",
    "region_summary",
    "release_consumers",
]

STARVED = -1
ABSENT = -2
MAX_PASSES = 64  # placement passes per round; in practice two to five are needed
_EMPTY_I = np.zeros(0, dtype=np.int64)
_EMPTY_G = np.zeros(0, dtype=np.int32)


class InvariantError(AssertionError):
    """`check_invariants` found the trees inconsistent; the message names what and by how much."""


def _as_index(name: str, idx, n: int) -> np.ndarray:
    idx = np.asarray(idx)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise ValueError(f"{name}: expected a 1-D integer array of indices, found dtype {idx.dtype} shape {idx.shape}")
    idx = idx.astype(np.int64, copy=False)
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        bad = idx[(idx < 0) | (idx >= n)][0]
        raise ValueError(f"{name}: index {bad} out of range; expected 0 <= index < {n}")
    return idx


def _as_power(name: str, values, size: int, dtype) -> np.ndarray:
    values = np.asarray(values, dtype=dtype)
    if values.shape != (size,):
        raise ValueError(f"{name}: expected {size} values (one per index), found shape {values.shape}")
    if size and not (np.isfinite(values).all() and values.min() >= 0):
        bad = values[~(np.isfinite(values) & (values >= 0))][0]
        raise ValueError(f"{name}: power must be finite and >= 0 MW, found {bad}")
    return values


def _last_wins(idx: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated indices, keeping the last reported value; result sorted by index."""
    if idx.size < 2:
        return idx, values
    order = np.argsort(idx, kind="stable")
    idx, values = idx[order], values[order]
    keep = np.empty(idx.size, dtype=bool)
    keep[-1] = True
    np.not_equal(idx[1:], idx[:-1], out=keep[:-1])
    return idx[keep], values[keep]


class Trees:
    """A region's generators and consumers as arrays, with incrementally maintained loads.

    `output`, `load` (float64 MW, one per generator), `demand` (float32 MW), `assignment`
    (int32) and `starved_since` (int32 round at which each consumer last became unplaced)
    are read-only views; change them only through the methods and functions of this module.
    """

    def __init__(self, output, demand=(), assignment=None) -> None:
        output = np.asarray(output, dtype=np.float64)
        self._output = _as_power("Trees output", output, output.size, np.float64).copy()
        self._load = np.zeros(self._output.size, dtype=np.float64)
        self.round = 0
        self.n = 0
        self.n_unplaced = 0
        self._demand = np.zeros(0, dtype=np.float32)
        self._assign = np.zeros(0, dtype=np.int32)
        self._since = np.zeros(0, dtype=np.int32)
        self._moved = np.zeros(0, dtype=bool)
        demand = np.asarray(demand, dtype=np.float32)
        self._grow(demand.size)
        self._demand[: demand.size] = _as_power("Trees demand", demand, demand.size, np.float32)
        self.n = demand.size
        if assignment is None:
            self._assign[: self.n] = STARVED
        else:
            assignment = np.asarray(assignment, dtype=np.int32)
            if assignment.shape != (self.n,) or (self.n and (assignment.min() < ABSENT or assignment.max() >= self.G)):
                raise ValueError(
                    f"Trees assignment: expected {self.n} values in [-2, {self.G}), found shape {assignment.shape}"
                )
            self._assign[: self.n] = assignment
        self.n_unplaced = int(np.count_nonzero(self._assign[: self.n] == STARVED))
        self.resync_loads()
        self._rebuild_index()

    # ---- read-only views -------------------------------------------------------------
    @property
    def G(self) -> int:
        return self._output.size

    @staticmethod
    def _ro(a: np.ndarray) -> np.ndarray:
        v = a.view()
        v.flags.writeable = False
        return v

    @property
    def output(self) -> np.ndarray:
        return self._ro(self._output)

    @property
    def load(self) -> np.ndarray:
        return self._ro(self._load)

    @property
    def demand(self) -> np.ndarray:
        return self._ro(self._demand[: self.n])

    @property
    def assignment(self) -> np.ndarray:
        return self._ro(self._assign[: self.n])

    @property
    def starved_since(self) -> np.ndarray:
        return self._ro(self._since[: self.n])

    def cap(self, safety_threshold: float) -> np.ndarray:
        """Per-generator ceiling on load: (1 - threshold) x output, MW."""
        if not 0.0 <= safety_threshold < 1.0:
            raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
        return (1.0 - safety_threshold) * self._output

    # ---- updates -----------------------------------------------------------------------
    def apply_consumer_updates(self, idx, new_demand) -> None:
        """Consumers report changed demand (MW). Repeated indices: the last report wins."""
        idx = _as_index("apply_consumer_updates idx", idx, self.n)
        new = _as_power("apply_consumer_updates new_demand", new_demand, idx.size, np.float32)
        idx, new = _last_wins(idx, new)
        gen = self._assign[idx]
        served = gen >= 0
        diff = new[served].astype(np.float64) - self._demand[idx[served]]
        self._load += np.bincount(gen[served], weights=diff, minlength=self.G)
        self._demand[idx] = new

    def apply_generator_updates(self, gen_idx, new_output) -> None:
        """Generators report their current output (MW). Repeated indices: the last report wins."""
        gen_idx = _as_index("apply_generator_updates gen_idx", gen_idx, self.G)
        new = _as_power("apply_generator_updates new_output", new_output, gen_idx.size, np.float64)
        gen_idx, new = _last_wins(gen_idx, new)
        self._output[gen_idx] = new

    def add_consumers(self, demand, assignment=None) -> np.ndarray:
        """New joiners (demand MW); unplaced (starved since this round) unless assigned. Returns indices."""
        demand = np.asarray(demand, dtype=np.float32)
        demand = _as_power("add_consumers demand", demand, demand.size, np.float32)
        k = demand.size
        gen = np.full(k, STARVED, dtype=np.int32) if assignment is None else np.asarray(assignment, dtype=np.int32)
        if gen.shape != (k,) or (k and (gen.min() < STARVED or gen.max() >= self.G)):
            raise ValueError(f"add_consumers assignment: expected {k} values in [-1, {self.G}), found {gen!r}")
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        self._demand[idx] = demand
        self._assign[idx] = STARVED
        self._since[idx] = self.round
        self.n_unplaced += k
        self._note_changed(idx)
        placed = gen >= 0
        if placed.any():
            self._reassign(idx[placed], gen[placed])
        return idx

    def add_generators(self, output) -> np.ndarray:
        """New generators (output MW), empty trees. Returns their indices."""
        output = np.asarray(output, dtype=np.float64)
        output = _as_power("add_generators output", output, output.size, np.float64)
        first = self.G
        self._output = np.concatenate([self._output, output])
        self._load = np.concatenate([self._load, np.zeros(output.size)])
        self._start = np.concatenate([self._start, np.full(output.size, self._start[-1])])
        return np.arange(first, self.G, dtype=np.int64)

    def resync_loads(self) -> float:
        """Recompute every load exactly (O(N) bincount); returns the largest drift corrected, MW."""
        a = self._assign[: self.n]
        served = a >= 0
        exact = np.bincount(a[served], weights=self._demand[: self.n][served], minlength=self.G).astype(np.float64)
        drift = float(np.abs(exact - self._load).max()) if self.G else 0.0
        self._load = exact
        return drift

    # ---- internals ---------------------------------------------------------------------
    def _grow(self, size: int) -> None:
        if size <= self._demand.size:
            return
        cap = max(size, 2 * self._demand.size, 1024)
        for name in ("_demand", "_assign", "_since", "_moved"):
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: old.size] = old
            setattr(self, name, new)
        self._delta = np.zeros(max(64, cap // 16), dtype=np.int64)
        self._ndelta = 0
        if hasattr(self, "_start"):
            self._rebuild_index()

    def _rebuild_index(self) -> None:
        """Snapshot the assignment as consumer indices sorted by generator (CSR)."""
        key = self._assign[: self.n] + 2
        key = key.astype(np.int16 if self.G + 2 < np.iinfo(np.int16).max else np.int32)
        self._order = np.argsort(key, kind="stable").astype(np.int32)  # radix sort for int16
        self._start = np.zeros(self.G + 3, dtype=np.int64)
        np.cumsum(np.bincount(key, minlength=self.G + 2), out=self._start[1:])
        self._moved[: self.n] = False
        self._ndelta = 0

    def _note_changed(self, idx: np.ndarray) -> None:
        """Log consumers whose assignment changed since the snapshot (idx unique)."""
        new = idx[~self._moved[idx]]
        if self._ndelta + new.size > self._delta.size:
            self._rebuild_index()
            return
        self._moved[new] = True
        self._delta[self._ndelta : self._ndelta + new.size] = new
        self._ndelta += new.size

    def _members(self, gens: np.ndarray) -> np.ndarray:
        """Consumers currently assigned to any of `gens` (unique; may include STARVED)."""
        b = np.asarray(gens, dtype=np.int64) + 2
        starts = self._start[b]
        lens = self._start[b + 1] - starts
        total = int(lens.sum())
        parts = []
        if total:
            offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
            base = self._order[np.arange(total) + offsets]
            parts.append(base[~self._moved[base]].astype(np.int64))
        if self._ndelta:
            delta = self._delta[: self._ndelta]
            flag = np.zeros(self.G + 2, dtype=bool)
            flag[b] = True
            parts.append(delta[flag[self._assign[delta] + 2]])
        return np.concatenate(parts) if parts else _EMPTY_I

    def _reassign(self, idx: np.ndarray, gen: np.ndarray, *, loads: bool = True) -> None:
        """Move consumers `idx` (unique) to `gen`, keeping loads and counters in step."""
        if not idx.size:
            return
        old = self._assign[idx]
        if loads:
            w = self._demand[idx]
            m = old >= 0
            if m.any():
                self._load -= np.bincount(old[m], weights=w[m], minlength=self.G)
            m = gen >= 0
            if m.any():
                self._load += np.bincount(gen[m], weights=w[m], minlength=self.G)
        became = (gen == STARVED) & (old != STARVED)
        self._since[idx[became]] = self.round
        self.n_unplaced += int(np.count_nonzero(became)) - int(np.count_nonzero((old == STARVED) & (gen != STARVED)))
        self._assign[idx] = gen
        self._note_changed(idx)


# ---- one round ------------------------------------------------------------------------


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


def _shed(trees: Trees, gens: np.ndarray, cap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unplace the fewest consumers that bring each of `gens` at or under `cap`.

    Per generator, on its members ordered largest first (ties by lower index): take the
    shortest prefix whose demand covers the excess, then swap the prefix's last pick for the
    smallest member that still covers what remains (ties by lower index). Three routes give
    that same answer: one consumer suffices (a vectorized minimum, the common case), a full
    sort when the members concerned are few, a partial sort per generator when they are
    many. Loads of `gens` are then set exactly from their remaining members.
    Returns (shed consumer indices, their generator)."""
    k = gens.size
    mem = trees._members(gens)
    seg_of = np.full(trees.G, -1, dtype=np.int64)
    seg_of[gens] = np.arange(k)
    s = seg_of[trees._assign[mem]]
    d = trees._demand[mem].astype(np.float64)
    excess = trees._load[gens] - cap[gens]
    take = np.zeros(mem.size, dtype=bool)
    counts = np.bincount(s, minlength=k)
    ok = d >= excess[s]
    one = np.bincount(s[ok], minlength=k) > 0  # some single member covers the excess
    if one.any():
        smallest = np.full(k, np.inf)
        np.minimum.at(smallest, s[ok], d[ok])
        tie = ok & (d == smallest[s])
        first = np.full(k, np.iinfo(np.int64).max)
        np.minimum.at(first, s[tie], mem[tie])
        take |= tie & (mem == first[s])
    several = np.flatnonzero(~one & (counts > 0))
    if several.size:
        sel = np.flatnonzero((~one & (counts > 0))[s])
        if sel.size <= _SORT_LIMIT:
            take[sel] = _shed_sorted(mem[sel], s[sel], d[sel], excess, k)
        else:
            sel = sel[np.argsort(s[sel], kind="stable")]
            bounds = np.searchsorted(s[sel], np.r_[several, k])
            for j, lo, hi in zip(several, bounds[:-1], bounds[1:]):
                part = sel[lo:hi]
                take[part] = _shed_partial(mem[part], d[part], float(excess[j]))
    keep = ~take
    trees._load[gens] = np.bincount(s[keep], weights=d[keep], minlength=k) if keep.any() else 0.0
    shed, shed_from = mem[take], gens[s[take]].astype(np.int32)
    trees._reassign(shed, np.full(shed.size, STARVED, dtype=np.int32), loads=False)
    return shed, shed_from


_SORT_LIMIT = 65_536  # members above which `_shed` sorts each generator's largest only


def _shed_sorted(mem: np.ndarray, s: np.ndarray, d: np.ndarray, excess: np.ndarray, k: int) -> np.ndarray:
    """`_shed`'s choice for many segments at once by one sort; returns the take mask."""
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
    out = np.empty_like(take)
    out[order] = take
    return out


def _shed_partial(mem: np.ndarray, d: np.ndarray, excess: float) -> np.ndarray:
    """`_shed`'s choice for one generator with many members: sort only the largest."""
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


def rebalance(trees: Trees, safety_threshold: float = 0.10) -> RebalanceResult:
    """One round: shed from generators over (1 - threshold) x output, place every unplaced
    consumer where it fits, starve the rest. Mutates `trees`; returns what changed."""
    cap = trees.cap(safety_threshold)
    over = np.flatnonzero(trees._load > cap)
    trees.round += 1
    if not over.size and not trees.n_unplaced:
        return RebalanceResult(_EMPTY_I, _EMPTY_G, _EMPTY_G, _EMPTY_I, _EMPTY_I, 0, 0, 0, 0.0, 0, trees._load.copy())
    shed, shed_from = _shed(trees, over, cap) if over.size else (_EMPTY_I, _EMPTY_G)
    unplaced = trees._members(np.array([STARVED]))
    unplaced = unplaced[np.lexsort((unplaced, trees._since[unplaced]))]  # longest starved first
    d = trees._demand[unplaced].astype(np.float64)
    gen, passes = _plan(d, trees._load, cap)
    ok = gen >= 0
    trees._reassign(unplaced[ok], gen[ok])
    # Guard against float rounding between the plan's sums and the loads' sums.
    viol = np.flatnonzero(trees._load > cap)
    if viol.size:
        _shed(trees, viol, cap)
    # Report against the start of the round.
    touched = np.sort(unplaced)
    start = np.full(touched.size, STARVED, dtype=np.int32)
    start[np.searchsorted(touched, shed)] = shed_from
    end = trees._assign[touched]
    moved = start != end
    idx, frm, to = touched[moved], start[moved], end[moved]
    starved = end == STARVED
    return RebalanceResult(
        moved=idx,
        moved_from=frm,
        moved_to=to,
        newly_starved=idx[(frm >= 0) & (to == STARVED)],
        restored=idx[(frm == STARVED) & (to >= 0)],
        shed=int(shed.size),
        overloaded=int(over.size),
        starved_count=int(np.count_nonzero(starved)),
        starved_mw=float(trees._demand[touched[starved]].astype(np.float64).sum()),
        passes=passes,
        load=trees._load.copy(),
    )


# ---- region figures, cross-tracker help -------------------------------------------------


@dataclass(frozen=True)
class RegionSummary:
    """Region totals, MW: capacity is the sum of (1 - threshold) x output; headroom the sum
    of each generator's room under it; surplus = capacity - all present demand (negative
    when short). What a tracker advertises to peers is `headroom_mw - starved_mw` if positive."""

    capacity_mw: float
    load_mw: float
    headroom_mw: float
    starved_mw: float
    starved_count: int
    surplus_mw: float


def region_summary(trees: Trees, safety_threshold: float = 0.10) -> RegionSummary:
    """Totals for dispatch, storage and spare-capacity adverts (O(G) plus the starved set)."""
    cap = trees.cap(safety_threshold)
    starved = trees._members(np.array([STARVED]))
    starved_mw = float(trees._demand[starved].astype(np.float64).sum())
    capacity, load = float(cap.sum()), float(trees._load.sum())
    return RegionSummary(
        capacity_mw=capacity,
        load_mw=load,
        headroom_mw=float(np.maximum(cap - trees._load, 0.0).sum()),
        starved_mw=starved_mw,
        starved_count=int(starved.size),
        surplus_mw=capacity - load - starved_mw,
    )


def pick_handover(trees: Trees, max_mw: float) -> np.ndarray:
    """Starved consumers to hand to a peer tracker that advertised `max_mw` spare: the
    longest-starved first while they fit, then the smallest of the rest while they fit.
    Total demand <= max_mw. Returns consumer indices (ascending); nothing changes until
    `release_consumers` is called for those the peer accepted."""
    starved = trees._members(np.array([STARVED]))
    if not starved.size or max_mw <= 0:
        return _EMPTY_I
    starved = starved[np.lexsort((starved, trees._since[starved]))]
    d = trees._demand[starved].astype(np.float64)
    first = np.cumsum(d) <= max_mw  # a prefix: demands are >= 0
    left = max_mw - float(d[first].sum())
    rest = np.flatnonzero(~first)
    rest = rest[np.argsort(d[rest], kind="stable")]
    second = rest[np.cumsum(d[rest]) <= left]
    return np.sort(np.concatenate([starved[first], starved[second]]))


def release_consumers(trees: Trees, idx) -> None:
    """Consumers handed over to a peer leave this region (assignment ABSENT)."""
    idx = np.unique(_as_index("release_consumers idx", idx, trees.n))
    trees._reassign(idx, np.full(idx.size, ABSENT, dtype=np.int32))


@dataclass(frozen=True)
class AcceptResult:
    """Of a batch offered by a peer tracker: which fit (mask over the batch), the new
    consumer indices in this region and the generator each was placed on."""

    accepted: np.ndarray
    index: np.ndarray
    generator: np.ndarray

    @property
    def count(self) -> int:
        return int(self.index.size)


def accept_consumers(trees: Trees, demand, safety_threshold: float = 0.10) -> AcceptResult:
    """Take in a peer's consumers (demand MW, in the peer's priority order) where they fit
    under (1 - threshold) x output; the rest are declined (not added) and stay with the peer."""
    demand = np.asarray(demand, dtype=np.float32)
    demand = _as_power("accept_consumers demand", demand, demand.size, np.float32)
    cap = trees.cap(safety_threshold)
    gen, _ = _plan(demand.astype(np.float64), trees._load, cap)
    ok = gen >= 0
    idx = trees.add_consumers(demand[ok], gen[ok])
    viol = np.flatnonzero(trees._load > cap)
    if viol.size:  # float rounding between the plan and the loads: decline what went there
        keep = ~np.isin(trees._assign[idx], viol)
        release_consumers(trees, idx[~keep])
        ok[np.flatnonzero(ok)[~keep]] = False
        idx = idx[keep]
    return AcceptResult(accepted=ok, index=idx, generator=trees._assign[idx].copy())


# ---- verification ------------------------------------------------------------------------


def check_invariants(trees: Trees, safety_threshold: float = 0.10, *, rebalanced: bool = True, rtol: float = 1e-9) -> dict:
    """Recompute loads (O(N)) and raise InvariantError unless: maintained loads match;
    the index lists every consumer exactly once; and, if `rebalanced` (right after a
    round), no generator is over (1 - threshold) x output, and no starved consumer would fit
    in any generator's headroom, so that starved demand equals the deficit to within the
    leftover headroom (under one consumer per generator). Returns the recomputed figures."""
    n = trees.n
    a, d = trees._assign[:n], trees._demand[:n].astype(np.float64)
    served = a >= 0
    exact = np.bincount(a[served], weights=d[served], minlength=trees.G).astype(np.float64)
    tol = rtol * max(1.0, float(d.sum()))
    err = np.abs(exact - trees._load)
    if err.size and err.max() > tol:
        g = int(err.argmax())
        raise InvariantError(f"generator {g}: maintained load {trees._load[g]!r} MW, recomputed {exact[g]!r} MW")
    if np.count_nonzero(a == STARVED) != trees.n_unplaced:
        raise InvariantError(f"n_unplaced is {trees.n_unplaced}, recomputed {np.count_nonzero(a == STARVED)}")
    for g in (STARVED, *range(trees.G)):
        got = np.sort(trees._members(np.array([g])))
        want = np.flatnonzero(a == g)
        if not np.array_equal(got, want):
            raise InvariantError(f"member index of generator {g}: {got.size} members listed, {want.size} assigned")
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
