"""A tracker's region: its generators (by row) and consumers (by `Trees` index) with their ids,
and the updates it takes in (generator statuses, consumer reports, peers' handovers, a
population's Resync). What one round does with it is `scowl.balance.regionround.tracker_round`;
how the region dispatches its units, `scowl.balance.supply`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.balance.arrays import pick
from scowl.balance.consumer_ids import ConsumerIds, lo_of
from scowl.balance.fair import ROTATE_AFTER
from scowl.balance.handed import HandedOut
from scowl.balance.handover import accept_consumers, release_consumers
from scowl.balance.limits import ZoneLimits
from scowl.balance.local_index import LocalIndex
from scowl.balance.trees import ABSENT, ARRAYS, STARVED, Trees, unique_ints
from scowl.balance.views import figures_of, pair_sum
from scowl.model import CONTINUOUS

NO_GENERATOR = -(2**31)  # a consumer's generator id when it has none (wire.STARVED_ID)
_VIEW_BLOCK = 1 << 16  # consumers a recount of the view hashes at a time (2^18: ~7 MB of temporaries atop round 0's lists)
GAS_START_FRACTION = 0.5  # a dispatchable unit's setpoint before its first status: half its nameplate


@dataclass(frozen=True)
class GenUpdate:
    """One fleet's status of some of our generators: available output, the setpoint it runs
    at, (EV hubs) the charge it could take and the load it carried last tick, MW."""

    gen_ids: np.ndarray
    output_mw: np.ndarray
    setpoint_mw: np.ndarray
    charge_mw: np.ndarray
    load_mw: np.ndarray | None = None  # what each carried last tick, as its fleet measured it (scowl.balance.unseen)


@dataclass(frozen=True)
class ConsumerBatch:
    """Consumers (128-bit ids, the wire's structured dtype with a `lo` global index) and
    their demand, MW: a population's report, or a peer's handover. A report's ids may be the
    global indices alone (a compact report's low words: its prefix plays no part in it)."""

    ids: np.ndarray
    demand_mw: np.ndarray


class Region:
    """A tracker's generators (by row) and consumers (by `Trees` index) with their ids."""

    def __init__(self, n_global: int, safety_threshold: float, id_dtype: np.dtype) -> None:
        if not 0.0 <= safety_threshold < 1.0:
            raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
        self.thr = safety_threshold
        self.n_global = n_global
        self.trees = Trees(np.zeros(0))
        self.trees.make_room(n_global)  # (a region holds at most every consumer: its arrays never copied to grow)
        self.gen_ids = np.zeros(0, dtype=np.int32)
        self.gen_index: dict[int, int] = {}
        self.kind = np.zeros(0, dtype=np.uint8)
        self.pmin = np.zeros(0)
        self.pmax = np.zeros(0)
        self.ramp = np.zeros(0)
        self.available = np.zeros(0)
        self.charge_cap = np.zeros(0)  # EV hubs: the charge they could take this tick (MW)
        self.setpoint = np.zeros(0)
        # load the demand reports do not show (scowl.balance.unseen): per generator, the share its consumers
        # drew beyond their reports, within `drift_bound` (the report threshold; 0: none counted); and the
        # view of each one's load at the end of the last tick round (`seen_tick`; NaN: joined since)
        self.drift = np.zeros(0)
        self.drift_bound = 0.0
        self.seen = np.zeros(0)
        self.seen_tick = -1
        self.ids = ConsumerIds(id_dtype, n_global)  # by Trees consumer index (5 B each: ids_of rebuilds them)
        self.ids.make_room(n_global)
        self.local_of = LocalIndex(n_global)  # global consumer index -> Trees index (-1: not held)
        self.unknown_ids = 0
        self.moved_total = 0
        self.resynced = 0
        self.handed_out = HandedOut()  # consumers handed to peers, until they answer (scowl.balance.handed)
        # warm start: the first round solves the trees as the grid ran before the day began,
        # dispatchable units at whatever level the region needs (not ramping from a cold guess)
        self.warm = False  # set for the round of tick 0 only (fleets follow that round's setpoints unramped too)
        self.rotate_after = ROTATE_AFTER  # ticks a starved consumer waits beyond a served one before they swap (0: never)
        self.prev_demand_mw = -1.0  # the region's demand at the end of the last round (-1: no round yet)
        self.advert_spare_mw = float("-inf")  # room - short the last round advertised to peers (-inf: none yet)
        self.limits: ZoneLimits | None = None  # [trackers] transfer_limits: the zones and interfaces (scowl.balance.limits)
        self.announced = np.zeros(0, dtype=np.int64)  # consumers the next round tells their population about
        self.handed_in_held = 0  # consumers peers handed us that we held already (not added twice)
        self._view_placed = 0  # the view (scowl.balance.views) as of the last `view`: consumers placed,
        self._view_sum = 0  # and the sum of their (consumer, generator) pair hashes modulo 2^64

    @staticmethod
    def up_front_bytes(n_global: int, id_dtype: np.dtype) -> int:
        """The address space `Region(n_global, ...)` takes at once (resident only as used): room
        for every consumer of the run in the trees' arrays, the ids and the global -> local table."""
        trees, ids = Trees(np.zeros(0)), ConsumerIds(id_dtype, 0)
        per = sum(int(getattr(trees, a).itemsize) for a in ARRAYS) + ids.lo.itemsize + ids.code.itemsize
        return n_global * (per + LocalIndex.ITEMSIZE)

    # ---------------------------------------------------------------- membership

    def frozen(self, unheard: Sequence[int]) -> np.ndarray | None:
        """Consumers of populations not heard this tick (their id prefixes `unheard`): neither shed
        nor placed by a round (cut off, they follow no Assign: moving them on paper would leave their
        real draw where it is). None when every population was heard."""
        return self.ids.with_prefix(self.trees.n, unheard) if len(unheard) else None

    def ids_of(self, idx: np.ndarray | slice) -> np.ndarray:
        """The 128-bit ids (the wire's dtype) of consumers at these Trees indices."""
        return self.ids.ids_of(idx)

    @property
    def lo(self) -> np.ndarray:
        """Every consumer's global index (uint32) by Trees index (only the first trees.n are held)."""
        return self.ids.lo

    def global_index(self, ids: np.ndarray) -> np.ndarray:
        return self._in_range(lo_of(ids)).astype(np.int64)

    def _in_range(self, lo: np.ndarray) -> np.ndarray:
        """`lo`, checked to be global indices of the run."""
        if lo.size and ((lo.dtype.kind != "u" and lo.min() < 0) or lo.max() >= self.n_global):  # (unsigned: no minimum to check)
            raise ValueError(f"consumer index outside [0, {self.n_global})")
        return lo

    def add_generators(self, gen_ids: Sequence[int] | NDArray[np.integer[Any]], kind: ArrayLike, pmin: ArrayLike, pmax: ArrayLike, ramp: ArrayLike) -> None:
        n = len(gen_ids)
        rows = self.trees.add_generators(np.zeros(n))
        for g, r in zip(np.asarray(gen_ids).tolist(), rows.tolist()):
            self.gen_index[int(g)] = r
        self.gen_ids = np.concatenate([self.gen_ids, np.asarray(gen_ids).astype(np.int32)])
        self.kind = np.concatenate([self.kind, np.asarray(kind, dtype=np.uint8)])
        self.pmin = np.concatenate([self.pmin, pmin])
        self.pmax = np.concatenate([self.pmax, pmax])
        self.ramp = np.concatenate([self.ramp, ramp])
        self.available = np.concatenate([self.available, np.zeros(n)])
        self.charge_cap = np.concatenate([self.charge_cap, np.zeros(n)])
        self.drift = np.concatenate([self.drift, np.zeros(n)])
        self.seen = np.concatenate([self.seen, np.full(n, np.nan)])
        start = np.where(self.kind[-n:] == CONTINUOUS, self.pmax[-n:] * GAS_START_FRACTION, 0.0) if n else np.zeros(0)
        self.setpoint = np.concatenate([self.setpoint, np.maximum(start, self.pmin[-n:] if n else np.zeros(0))])

    def add_consumers(self, ids: np.ndarray, demand_mw: np.ndarray) -> np.ndarray:
        idx = self.trees.add_consumers(demand_mw)
        self.local_of[self.global_index(ids)] = idx
        self.ids.store(idx, ids)
        return idx

    def reserve(self, k: int) -> None:
        """Room for `k` more consumers, exactly (see Trees.reserve)."""
        self.trees.reserve(k)
        self.ids.reserve(self.trees.n + k, exact=True)

    def state_bytes(self) -> int:
        """Bytes of the arrays the region keeps between rounds (its own, its trees' and its ids'; not
        the Python objects around them), as resident: the per-consumer arrays up to the capacity the
        consumers so far would have grown them to (`Trees.make_room`: the rest is never touched), the
        global index's table by its pages written and its list (`LocalIndex`)."""
        per_consumer = (*ARRAYS, "lo", "code", "_order_room")
        cap = self.trees._cap

        def arrays(obj: object) -> int:
            total = 0
            for k, v in vars(obj).items():
                if k == "_order":  # (a view of `_order_room`)
                    continue
                for a in (v if isinstance(v, (list, tuple)) else [v]):
                    if isinstance(a, np.ndarray):
                        total += min(a.size, cap) * a.itemsize if k in per_consumer else a.nbytes
            return total
        return arrays(self) + arrays(self.trees) + arrays(self.ids) + self.local_of.resident_bytes()

    def gen_rows(self, gen_ids: np.ndarray) -> np.ndarray:
        return np.fromiter((self.gen_index[int(g)] for g in gen_ids), dtype=np.int64, count=len(gen_ids))

    def generator_of(self, local: np.ndarray) -> np.ndarray:
        """Generator ids of consumers (by Trees index); NO_GENERATOR for the unplaced."""
        a = self.trees.assignment[local]
        return np.where(a >= 0, self.gen_ids[np.maximum(a, 0)] if len(self.gen_ids) else 0, NO_GENERATOR).astype(np.int32)

    def where_are(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The truth as this region has it about these consumers: (ids held here, the demand
        it plans with, the generator each is on). The others are not ours."""
        local = self.local_of[self.global_index(ids)]
        held = local >= 0
        held[held] &= self.trees.assignment[local[held]] != ABSENT
        local = local[held]
        return ids[held], self.trees.demand[local], self.generator_of(local)

    def trees_of(self, gen_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(consumer ids, generator ids) of every consumer on these generators."""
        rows = self.gen_rows(gen_ids)
        local = np.flatnonzero(np.isin(self.trees.assignment, rows))
        return self.ids_of(local), self.gen_ids[self.trees.assignment[local]]

    def view(self) -> dict[str, float]:
        """The region's view of who is on which generator (`view_placed`, `view_digest`,
        scowl.balance.views), kept up to date from the trees' reassignments since the last
        call: O(changes), or a recount when the trees did not keep them (the first call, or
        more changed than 1/8 of the consumers)."""
        changes = self.trees.take_changes()
        lo = self.ids.lo
        if changes is None:  # (in blocks: a first round places millions, its hashes' temporaries stay small)
            a = self.trees.assignment
            self._view_placed, self._view_sum = 0, 0
            for first in range(0, a.size, _VIEW_BLOCK):
                part = a[first : first + _VIEW_BLOCK]
                placed = np.flatnonzero(part >= 0)
                self._view_placed += int(placed.size)
                self._view_sum += pair_sum(lo[first + placed], self.gen_ids[part[placed]])
            self._view_sum %= 1 << 64
        else:
            idx, old, new = changes
            was, now = old >= 0, new >= 0
            self._view_placed += int(np.count_nonzero(now)) - int(np.count_nonzero(was))
            self._view_sum += pair_sum(lo[idx[now]], self.gen_ids[new[now]]) - pair_sum(lo[idx[was]], self.gen_ids[old[was]])
            self._view_sum %= 1 << 64
        return figures_of(self._view_placed, self._view_sum)

    def resync(self, ids: np.ndarray, demand_mw: np.ndarray, gen_ids: np.ndarray) -> int:
        """A population tells us where its consumers are: the truth, not a decision."""
        local = self.local_of[self.global_index(ids)]
        ok = local >= 0
        local = local[ok]
        present = self.trees.assignment[local] != ABSENT
        local = local[present]
        gen = gen_ids[ok][present]
        rows = np.array([self.gen_index.get(int(g), STARVED) for g in gen], dtype=np.int32) if gen.size else np.zeros(0, dtype=np.int32)
        self.trees.apply_consumer_updates(local, demand_mw[ok][present])
        self.trees.reassign(local, rows)
        self.resynced += int(local.size)
        return int(local.size)

    def reannounce(self, population_hi: int) -> int:
        """A population back from a partition resynced: every consumer of it we hold goes into
        the next round's Assign and TreeDelta, so one it believes on another tracker (whose
        word it missed while cut off) learns where it is. Returns how many."""
        n = self.trees.n
        held = np.flatnonzero((self.trees.assignment != ABSENT) & self.ids.with_prefix(n, [population_hi]))
        self.announced = unique_ints(np.concatenate([self.announced, held]))
        return int(held.size)

    def take_announced(self) -> np.ndarray:
        """The consumers to announce this round (still ours), cleared."""
        idx, self.announced = self.announced, np.zeros(0, dtype=np.int64)
        return idx[self.trees.assignment[idx] != ABSENT] if idx.size else idx

    def update_demand(self, ids: np.ndarray, demand: np.ndarray) -> None:
        local = self.local_of.lookup(self._in_range(lo_of(ids)))  # (int32: a report's ~0.25 M, 4 B each)
        if local.size and int(local.min()) < 0:
            known = local >= 0
            self.unknown_ids += int(np.count_nonzero(~known))
            local, demand = pick(local, known), pick(np.asarray(demand), known)
        if local.size:  # (those handed to a peer are left out)
            self.trees.apply_reports(local, demand)

    def accept_handover(self, ids: np.ndarray, demand: np.ndarray) -> tuple[int, int, np.ndarray]:
        """Consumers a peer handed us: placed where they fit, kept as starved otherwise."""
        res = accept_consumers(self.trees, demand, self.thr)
        rest = np.flatnonzero(~res.accepted)
        kept = self.trees.add_consumers(demand[rest]) if rest.size else np.zeros(0, dtype=np.int64)
        idx = np.empty(len(ids), dtype=np.int64)
        idx[res.accepted] = res.index
        idx[rest] = kept
        self.local_of[self.global_index(ids)] = idx
        self.ids.store(idx, ids)
        return res.count, int(rest.size), idx

    def release(self, idx: np.ndarray) -> None:
        release_consumers(self.trees, idx)
        self.local_of[self.ids.lo[idx]] = -1
