"""The state container: a region's generators and consumers as arrays (`Trees`).

Units: every power is MW. Consumer demand is float32 MW (a 1.3 kW household is 0.0013); generator output and load
are float64 MW. Assignment is int32: a generator index, STARVED (-1) or ABSENT (-2: handed to a peer tracker,
ignored everywhere).

Per-generator load is maintained incrementally (bincount over the changed consumers only). A generator's members are
found through a lazy index: a CSR snapshot of the assignment sorted by generator, plus a log of consumers reassigned
since the snapshot; the snapshot is rebuilt (an O(N) radix sort) when the log exceeds N/16.

Two more structures keep a round in a steady deficit from touching every consumer: the starved queue (the unplaced
consumers, most starved so far first, ties by index), appended to as consumers become unplaced and trimmed as they
are placed, never re-sorted; and the risers (consumers whose demand rose since the last round), from which an
over-ceiling generator sheds first.

Starved time so far counts in rounds (`round`, which a tracker sets to its tick), in one int16 a consumer (int32 past
32,767 rounds), `_spell`:
a starved consumer's is the round its starvation would have begun had it starved without a break (its spell's start
less its past spells' rounds), so `round - _spell` is its whole starved time and ordering the queue by `_spell` serves
the most starved so far first; any other consumer's is the rounds it starved in its past spells (a spell's start
or end turns one into the other: `round - _spell`). Starved consumers all age alike, so the order holds between
rounds and only newly unplaced ones are merged in (scowl.balance.starving). Three flags a consumer share a byte, `_flags`: `_MOVED` (in the
change log since the snapshot), `_ROSE` (a riser since the last round), `_FRESH` (scratch of the queue's merge).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.balance import arrays
from scowl.balance.arrays import _last_wins, as_index, as_power, bin_sums, bucket_order, change_sums, gather, in_index_order, or_at, pick, scatter, unique_ints
from scowl.balance.starving import STARVED, StarvedQueue

ABSENT = -2
EMPTY_I = np.zeros(0, dtype=np.int64)
EMPTY_G = np.zeros(0, dtype=np.int32)
ARRAYS = ("_demand", "_assign", "_spell", "_flags")  # one entry per consumer each (4 + 4 + 2 + 1 bytes)
_MOVED, _ROSE = np.uint8(1), np.uint8(2)  # bits of `_flags` (and `_FRESH`: scowl.balance.starving)
__all__ = ["ABSENT", "EMPTY_G", "EMPTY_I", "STARVED", "Trees", "as_index", "as_power", "unique_ints"]


class Trees(StarvedQueue):
    """A region's generators and consumers as arrays, with incrementally maintained loads.

    `output`, `load` (float64 MW, one per generator), `demand` (float32 MW), `assignment`
    (int32) are read-only views; change them only through the methods and functions of this module.
    """

    _start: np.ndarray  # CSR offsets of the member index, one per generator (+ STARVED, ABSENT)

    def __init__(self, output: ArrayLike, demand: ArrayLike = (), assignment: ArrayLike | None = None) -> None:
        output = np.asarray(output, dtype=np.float64)
        self._output = as_power("Trees output", output, output.size, np.float64).copy()
        self._load = np.zeros(self._output.size, dtype=np.float64)
        self._round = 0
        self.n = 0
        self.n_unplaced = 0
        self._cap = 0  # consumers the arrays are sized for as they grow (the arrays may be longer: `make_room`)
        self._demand = np.zeros(0, dtype=np.float32)
        self._assign = np.zeros(0, dtype=np.int32)
        self._spell = np.zeros(0, dtype=np.int16)  # (a day's rounds fit: 2 bytes a consumer, not 4; wider past them, `round`)
        self._flags = np.zeros(0, dtype=np.uint8)
        self._risers: list[np.ndarray] = []
        self._pending: list[np.ndarray | range] = []
        # every reassignment since `take_changes` as (consumers, old, new); None: too many to
        # be worth keeping (more than 1/8 of the consumers), or never read: a recount is due
        self._changes: list[tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._nchanges = 0
        self._held = self._stale = False  # (`hold_index`)
        self._order_room = EMPTY_G  # (the member index's memory, `_order` its first n: `_rebuild_index`)
        # consumers the policy must not move this round (by index; None: none): a population the
        # tracker did not hear from follows no Assign, so its consumers stay where they are
        self.frozen: np.ndarray | None = None
        demand = np.asarray(demand, dtype=np.float32)
        self._grow(demand.size)
        self._demand[: demand.size] = as_power("Trees demand", demand, demand.size, np.float32)
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
        starved = np.flatnonzero(self._assign[: self.n] == STARVED)
        self._queue = starved[np.lexsort((starved, self._spell[starved]))].astype(np.int32)  # (int32: fewer than 2^31)

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
    def starved_from(self) -> np.ndarray:
        """Per consumer: the round its starved time counts from, while starved (round - this
        is its whole starved time so far, past spells included); for others, `starved_past`."""
        return self._ro(self._spell[: self.n])

    @property
    def starved_past(self) -> np.ndarray:
        """Per consumer not starved: rounds starved in its past spells; for a starved one, `starved_from`."""
        return self._ro(self._spell[: self.n])

    def cap(self, safety_threshold: float) -> np.ndarray:
        """Per-generator ceiling on load: (1 - threshold) x output, MW."""
        if not 0.0 <= safety_threshold < 1.0:
            raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
        return (1.0 - safety_threshold) * self._output

    # ---- updates -----------------------------------------------------------------------
    def apply_consumer_updates(self, idx: ArrayLike, new_demand: ArrayLike) -> None:
        """Consumers report changed demand (MW). Repeated indices: the last report wins."""
        idx = as_index("apply_consumer_updates idx", idx, self.n)
        new = as_power("apply_consumer_updates new_demand", new_demand, idx.size, np.float32)
        idx, new = _last_wins(idx, new)
        self._apply_demand(idx, new, self._assign[idx])

    def apply_reports(self, idx: NDArray[np.integer[Any]], new_demand: ArrayLike) -> None:
        """`apply_consumer_updates` for indices the caller found itself (a Region's own lookup, so in
        range, not re-checked; int32 or int64, kept); consumers handed to a peer (ABSENT) are left out."""
        new = as_power("apply_reports new_demand", new_demand, idx.size, np.float32)
        idx, new = in_index_order(idx, new)
        gen = gather(self._assign, idx)
        if gen.size and int(gen.min()) == ABSENT:
            present = gen != ABSENT
            idx, new, gen = pick(idx, present), pick(new, present), pick(gen, present)
        self._apply_demand(idx, new, gen)

    def _apply_demand(self, idx: np.ndarray, new: np.ndarray, gen: np.ndarray) -> None:
        """New demand `new` of consumers `idx` (unique) on generators `gen` (their assignment)."""
        was = gather(self._demand, idx)
        lowest = int(gen.min()) if gen.size else 0
        if lowest >= 0:  # (most reports: every one served)
            self._load += change_sums(gen, new, was, self.G)
        elif lowest == STARVED:  # the starved in bin 0, dropped (sums of each bin in input order: the same sums)
            self._load += change_sums(gen, new, was, self.G + 1, 1)[1:]
        else:
            served = gen >= 0
            self._load += np.bincount(pick(gen, served), weights=pick(new, served).astype(np.float64) - pick(was, served),
                                      minlength=self.G)
        rose = pick(idx, new > was)
        rose = pick(rose, (gather(self._flags, rose) & _ROSE) == 0)
        if rose.size:
            or_at(self._flags, rose, _ROSE)
            self._risers.append(rose)
        scatter(self._demand, idx, new)

    def apply_generator_updates(self, gen_idx: ArrayLike, new_output: ArrayLike) -> None:
        """Generators report their current output (MW). Repeated indices: the last report wins."""
        gen_idx = as_index("apply_generator_updates gen_idx", gen_idx, self.G)
        new = as_power("apply_generator_updates new_output", new_output, gen_idx.size, np.float64)
        gen_idx, new = _last_wins(gen_idx, new)
        self._output[gen_idx] = new

    def add_consumers(self, demand: ArrayLike, assignment: ArrayLike | None = None) -> NDArray[np.int64]:
        """New joiners (demand MW); unplaced (starved since this round) unless assigned. Returns indices."""
        demand = np.asarray(demand, dtype=np.float32)
        demand = as_power("add_consumers demand", demand, demand.size, np.float32)
        k = demand.size
        gen = np.full(k, STARVED, dtype=np.int32) if assignment is None else np.asarray(assignment, dtype=np.int32)
        if gen.shape != (k,) or (k and (gen.min() < STARVED or gen.max() >= self.G)):
            raise ValueError(f"add_consumers assignment: expected {k} values in [-1, {self.G}), found {gen!r}")
        self._grow(self.n + k)
        idx = np.arange(self.n, self.n + k, dtype=np.int64)
        self.n += k
        self._demand[idx] = demand
        self._assign[idx] = STARVED
        self._spell[idx] = self.round
        self.n_unplaced += k
        self._note_changed(idx)
        placed = gen >= 0
        self._pending.append(range(self.n - k, self.n) if not placed.any() else idx[~placed].astype(np.int32))  # (joiners: a range)
        if placed.any():
            self._reassign(idx[placed], gen[placed])
        return idx

    def add_generators(self, output: ArrayLike) -> NDArray[np.int64]:
        """New generators (output MW), empty trees. Returns their indices."""
        output = np.asarray(output, dtype=np.float64)
        output = as_power("add_generators output", output, output.size, np.float64)
        first = self.G
        self._output = np.concatenate([self._output, output])
        self._load = np.concatenate([self._load, np.zeros(output.size)])
        self._start = np.concatenate([self._start, np.full(output.size, self._start[-1])])
        return np.arange(first, self.G, dtype=np.int64)

    def reassign(self, idx: NDArray[np.int64], gen: NDArray[np.integer[Any]]) -> None:
        """Put consumers `idx` on generators `gen` (STARVED: unplaced, ABSENT: gone) as a fact
        learnt from outside the policy (a population's Resync), loads kept in step. Repeated
        indices: the last one wins."""
        idx = as_index("reassign idx", idx, self.n)
        gen = np.asarray(gen, dtype=np.int32)
        if gen.shape != idx.shape or (gen.size and (gen.min() < ABSENT or gen.max() >= self.G)):
            raise ValueError(f"reassign gen: expected {idx.size} values in [-2, {self.G}), found shape {gen.shape}")
        idx, gen = _last_wins(idx, gen)
        self._reassign(idx, gen)

    def resync_loads(self) -> float:
        """Recompute every load exactly (O(N) bincount); returns the largest drift corrected, MW."""
        a = self._assign[: self.n]
        served = a >= 0
        exact = np.bincount(a[served], weights=self._demand[: self.n][served], minlength=self.G).astype(np.float64)
        drift = float(np.abs(exact - self._load).max()) if self.G else 0.0
        self._load = exact
        return drift

    def reserve(self, k: int) -> None:
        """Room for `k` more consumers, exactly: joiners announced together (registrations)."""
        self._grow(self.n + k, exact=True)

    # ---- internals ---------------------------------------------------------------------
    def make_room(self, n_max: int) -> None:
        """Arrays for up to `n_max` consumers now, resident as they fill (np.zeros): growing copies none."""
        self._grow(n_max, room=True)

    def _grow(self, size: int, exact: bool = False, room: bool = False) -> None:
        if size <= (self._demand.size if room else self._cap):
            return
        cap = size if exact or room else max(size, 2 * self._cap, 1024)
        if size > self._demand.size:  # (else: room made up front; the log and index follow `_cap` as before)
            for name in ARRAYS:
                old = getattr(self, name)
                new = arrays.zeros_as_used(cap, old.dtype)  # (4 KB pages: filled from the front, resident as filled)
                new[: old.size] = old
                setattr(self, name, new)
        if room:
            return
        self._cap = cap
        self._delta = np.zeros(max(64, cap // 16), dtype=np.int64)
        self._ndelta = 0
        if hasattr(self, "_start"):
            self._rebuild_index()

    def _rebuild_index(self) -> None:
        """Snapshot the assignment as consumer indices sorted by generator (CSR)."""
        self._order = EMPTY_G
        if self._order_room.size < self.n:  # (the old snapshot freed before the new one is made)
            self._order_room = EMPTY_G
            self._order_room = arrays.small_pages(np.empty(max(self.n, self._cap), dtype=np.int32))  # (resident as written)
        # written over the last one: freed, its memory was split by the rebuild's small temporaries and
        # the new order took fresh memory beside them (+11 MB at tracker-3's tick 228 of the whole state)
        self._order, self._start = bucket_order(self._assign[: self.n], ABSENT, self.G - 1, out=self._order_room[: self.n])
        self._flags[: self.n] &= ~_MOVED
        self._ndelta, self._stale = 0, False

    def hold_index(self, held: bool) -> None:
        """Held, a full change log leaves the member index stale rather than rebuilt (a first round placed
        in blocks: one rebuild at the end, not one a block); let go, a stale index is rebuilt."""
        self._held = held
        if not held and self._stale:
            self._rebuild_index()

    def _note_changed(self, idx: np.ndarray) -> None:
        """Log consumers whose assignment changed since the snapshot (idx unique)."""
        if self._stale:
            return
        fresh = (self._flags[idx] & _MOVED) == 0
        if self._ndelta + int(np.count_nonzero(fresh)) > self._delta.size:
            self._stale = self._held
            if not self._held:
                self._rebuild_index()
            return
        new = pick(idx, fresh)
        self._flags[new] |= _MOVED
        self._delta[self._ndelta : self._ndelta + new.size] = new
        self._ndelta += new.size

    def members(self, gens: np.ndarray) -> np.ndarray:
        """Consumers currently assigned to any of `gens` (unique; may include STARVED)."""
        if not len(gens):
            return EMPTY_I
        base, _, logged = self.member_parts(gens)
        return np.concatenate([base, logged])

    def member_parts(self, gens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`members(gens)` in its two parts: (those the index lists, generator by generator; the
        change log's positions and consumers that are on `gens` now): members(gens) is the index
        part and then the log's consumers."""
        b = np.asarray(gens, dtype=np.int64) + 2
        if self._stale:
            self._rebuild_index()
        starts = self._start[b]
        lens = self._start[b + 1] - starts
        total = int(lens.sum())
        base = EMPTY_I
        if total:
            offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
            base = self._order[np.arange(total) + offsets]
            base = pick(base, (self._flags[base] & _MOVED) == 0).astype(np.int64)
        pos = EMPTY_I
        if self._ndelta:
            flag = np.zeros(self.G + 2, dtype=bool)
            flag[b] = True
            pos = np.flatnonzero(flag[self._assign[self._delta[: self._ndelta]] + 2])
        return base, pos, self._delta[pos]

    def indexed_counts(self, gens: np.ndarray) -> np.ndarray:
        """Members of each of `gens` as the index lists them (the change log aside)."""
        if self._stale:
            self._rebuild_index()
        b = np.asarray(gens, dtype=np.int64) + 2
        counts: np.ndarray = self._start[b + 1] - self._start[b]
        return counts

    def move(self, idx: np.ndarray, gen: np.ndarray) -> None:
        """The policy moves consumers `idx` (unique) to `gen` (a generator, STARVED or ABSENT), loads and counters kept."""
        self._reassign(idx, gen)

    def shed(self, idx: np.ndarray, gens: np.ndarray, load: np.ndarray) -> None:
        """The policy starves consumers `idx` (unique), shed by generators `gens`, whose load
        it computed as `load` (MW, exactly: no incremental update, which would drift)."""
        self._load[gens] = load
        self._reassign(idx, np.full(idx.size, STARVED, dtype=np.int32), loads=False)

    def _reassign(self, idx: np.ndarray, gen: np.ndarray, *, loads: bool = True) -> None:
        """Move consumers `idx` (unique) to `gen`, keeping loads and counters in step."""
        if not idx.size:
            return
        old = self._assign[idx]
        if loads:
            w = self._demand[idx]
            m = old >= 0
            if m.any():
                self._load -= bin_sums(pick(old, m), pick(w, m), self.G)
            m = gen >= 0
            if m.any():
                self._load += bin_sums(pick(gen, m), pick(w, m), self.G)
        left = (old == STARVED) & (gen != STARVED)
        if left.any():  # a spell ends: its rounds join the past ones
            ended = idx if left.all() else pick(idx, left)  # (a first round: every one)
            self._spell[ended] = self.round - self._spell[ended]
        became = (gen == STARVED) & (old != STARVED)
        if became.any():  # a spell begins, carrying the past ones
            began = pick(idx, became)
            self._spell[began] = self.round - self._spell[began]
            self._pending.append(began.astype(np.int32))
        self.n_unplaced += int(np.count_nonzero(became)) - int(np.count_nonzero(left))
        self._assign[idx] = gen
        self._note_changed(idx)
        if self._changes is not None:
            self._nchanges += idx.size
            if self._nchanges > max(1024, self.n // 8):
                self._changes = None
            else:
                self._changes.append((idx.astype(np.int64), old, np.array(gen, dtype=np.int32)))

    def take_changes(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.int32]] | None:
        """Every reassignment since the last call as (consumers, old generator, new generator),
        in order (a consumer may appear more than once), or None when they were not kept (the
        first call, or more changed than 1/8 of the consumers: recount instead). Clears them."""
        changes, self._changes, self._nchanges = self._changes, [], 0
        if changes is None:
            return None
        if not changes:
            return EMPTY_I, EMPTY_G, EMPTY_G
        return (np.concatenate([c[0] for c in changes]), np.concatenate([c[1] for c in changes]),
                np.concatenate([c[2] for c in changes]))

    def take_risers(self) -> np.ndarray:
        """Consumers whose demand rose since the last call (unique, unsorted); clears them."""
        if not self._risers:
            return EMPTY_I
        r = np.concatenate(self._risers)
        self._risers = []
        self._flags[r] &= ~_ROSE
        return r

