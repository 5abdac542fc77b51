"""A tracker's region and its round, as a pure function: `tracker_round(region, RoundInput)`.

The tracker actor only moves messages: it gathers this tick's generator statuses, demand
reports, peers' handovers and peers' offers into a `RoundInput`, calls `tracker_round`, and
sends what the `RoundOutput` says (assignments, tree deltas, setpoints, handovers, the
region summary). Everything here is arrays in, arrays out: no sockets, no clock, no
randomness; ties are broken by index and by sender order. Like `Trees`, a `Region` is
mutated in place (it holds millions of entries) and the round reports what changed.

One round:
  1. generators' available output; dispatchable (gas) setpoints within ramp limits for the
     region's demand at the safety threshold; EV hubs (storage) discharge what gas cannot
     cover, or charge on what a surplus leaves under the margin
  2. consumers' reported demand, then consumers handed over by peers (placed where they fit,
     kept as starved where they do not: nobody is ever lost)
  3. rebalance (scowl.balance.rebalance)
  4. starved consumers handed to peers that offered spare capacity last tick
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scowl.balance.handover import (
    RegionSummary,
    accept_consumers,
    pick_handover,
    region_summary,
    release_consumers,
)
from scowl.balance.round import RebalanceResult, rebalance
from scowl.balance.trees import ABSENT, STARVED, Trees
from scowl.dispatch import dispatch, required_output, storage_setpoints
from scowl.model import CONTINUOUS, STORAGE

NO_GENERATOR = -(2**31)  # a consumer's generator id when it has none (wire.STARVED_ID)
GAS_START_FRACTION = 0.5  # a dispatchable unit's setpoint before its first status: half its nameplate
HANDOVER_MARGIN = 0.9  # of a peer's advertised spare, the share a tracker hands it (its advert is a tick old)


@dataclass(frozen=True)
class GenUpdate:
    """One fleet's status of some of our generators: available output, the setpoint it runs
    at and (EV hubs) the charge it could take, MW."""

    gen_ids: np.ndarray
    output_mw: np.ndarray
    setpoint_mw: np.ndarray
    charge_mw: np.ndarray


@dataclass(frozen=True)
class ConsumerBatch:
    """Consumers (128-bit ids, the wire's structured dtype with a `lo` global index) and
    their demand, MW: a population's report, or a peer's handover."""

    ids: np.ndarray
    demand_mw: np.ndarray


@dataclass(frozen=True)
class PeerOffer:
    """What a peer tracker advertised at the end of its previous round, MW."""

    headroom_mw: float
    starved_mw: float


@dataclass(frozen=True)
class RoundInput:
    tick: int
    statuses: Sequence[GenUpdate] = ()
    reports: Sequence[ConsumerBatch] = ()
    handovers: Sequence[ConsumerBatch] = ()  # peers' handovers of the previous tick, sender order
    offers: Mapping[str, PeerOffer] = field(default_factory=dict)  # peer -> last tick's offer
    peers: Sequence[str] = ()  # every peer tracker (the handover of each, empty or not, goes out)


@dataclass(frozen=True)
class RoundOutput:
    """What the actor sends: `ids` moved to `gen_ids` (NO_GENERATOR: starved or released) to
    every population (Assign) and fleet (TreeDelta); `steer_gen_ids` to `setpoint_mw` to the
    fleets; `handovers[peer]` to each peer after `summary`; `figures` for the state log."""

    ids: np.ndarray
    gen_ids: np.ndarray
    steer_gen_ids: np.ndarray
    setpoint_mw: np.ndarray
    handovers: dict[str, ConsumerBatch]
    summary: RegionSummary
    result: RebalanceResult
    figures: dict[str, float]


class Region:
    """A tracker's generators (by row) and consumers (by `Trees` index) with their ids."""

    def __init__(self, n_global: int, safety_threshold: float, id_dtype: np.dtype) -> None:
        if not 0.0 <= safety_threshold < 1.0:
            raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
        self.thr = safety_threshold
        self.n_global = n_global
        self.trees = Trees(np.zeros(0))
        self.gen_ids = np.zeros(0, dtype=np.int32)
        self.gen_index: dict[int, int] = {}
        self.kind = np.zeros(0, dtype=np.uint8)
        self.pmin = np.zeros(0)
        self.pmax = np.zeros(0)
        self.ramp = np.zeros(0)
        self.available = np.zeros(0)
        self.charge_cap = np.zeros(0)  # EV hubs: the charge they could take this tick (MW)
        self.setpoint = np.zeros(0)
        self.cons_ids = np.zeros(0, dtype=id_dtype)  # by Trees consumer index
        self.local_of = np.full(n_global, -1, dtype=np.int32)  # global consumer index -> Trees index
        self.unknown_ids = 0
        self.moved_total = 0
        self.resynced = 0

    # ---------------------------------------------------------------- membership

    def global_index(self, ids: np.ndarray) -> np.ndarray:
        lo = ids["lo"].astype(np.int64)
        if lo.size and (lo.min() < 0 or lo.max() >= self.n_global):
            raise ValueError(f"consumer index outside [0, {self.n_global})")
        return lo

    def add_generators(self, gen_ids, kind, pmin, pmax, ramp) -> None:
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
        start = np.where(self.kind[-n:] == CONTINUOUS, self.pmax[-n:] * GAS_START_FRACTION, 0.0) if n else np.zeros(0)
        self.setpoint = np.concatenate([self.setpoint, np.maximum(start, self.pmin[-n:] if n else np.zeros(0))])

    def add_consumers(self, ids: np.ndarray, demand_mw: np.ndarray) -> np.ndarray:
        idx = self.trees.add_consumers(demand_mw)
        self.local_of[self.global_index(ids)] = idx
        self._store_ids(idx, ids)
        return idx

    def _store_ids(self, idx: np.ndarray, ids: np.ndarray) -> None:
        """Store ids at consumer indices, growing the array (amortised doubling)."""
        need = int(idx.max()) + 1 if idx.size else 0
        if need > len(self.cons_ids):
            bigger = np.zeros(max(need, 2 * len(self.cons_ids)), dtype=self.cons_ids.dtype)
            bigger[: len(self.cons_ids)] = self.cons_ids
            self.cons_ids = bigger
        self.cons_ids[idx] = ids

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
        return self.cons_ids[local], self.gen_ids[self.trees.assignment[local]]

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

    def update_demand(self, ids: np.ndarray, demand: np.ndarray) -> None:
        local = self.local_of[self.global_index(ids)]
        known = local >= 0
        if not known.all():
            self.unknown_ids += int(np.count_nonzero(~known))
        local, demand = local[known], demand[known]
        present = self.trees.assignment[local] != ABSENT
        if present.any():
            self.trees.apply_consumer_updates(local[present], demand[present])

    def accept_handover(self, ids: np.ndarray, demand: np.ndarray) -> tuple[int, int, np.ndarray]:
        """Consumers a peer handed us: placed where they fit, kept as starved otherwise."""
        res = accept_consumers(self.trees, demand, self.thr)
        rest = np.flatnonzero(~res.accepted)
        kept = self.trees.add_consumers(demand[rest]) if rest.size else np.zeros(0, dtype=np.int64)
        idx = np.empty(len(ids), dtype=np.int64)
        idx[res.accepted] = res.index
        idx[rest] = kept
        self.local_of[self.global_index(ids)] = idx
        self._store_ids(idx, ids)
        return res.count, int(rest.size), idx

    def release(self, idx: np.ndarray) -> None:
        release_consumers(self.trees, idx)
        self.local_of[self.global_index(self.cons_ids[idx])] = -1


def _apply_statuses(region: Region, statuses: Sequence[GenUpdate]) -> None:
    for st in statuses:
        if len(st.gen_ids):
            rows = region.gen_rows(st.gen_ids)
            region.available[rows] = st.output_mw
            region.charge_cap[rows] = st.charge_mw
            steer = np.isin(region.kind[rows], (CONTINUOUS, STORAGE))
            region.setpoint[rows[steer]] = np.asarray(st.setpoint_mw)[steer]


def _dispatch(region: Region) -> np.ndarray:
    """Setpoints of the dispatchable units and EV hubs for the region's demand; returns each
    generator's output as the trees will count it."""
    thr = region.thr
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    summary = region_summary(region.trees, thr)
    demand_mw = summary.load_mw + summary.starved_mw
    fixed_out = float(region.available[~cont & ~stor].sum())
    need = required_output(demand_mw, fixed_out, thr)
    if cont.any():
        region.setpoint[cont] = dispatch(region.setpoint[cont], region.pmin[cont],
                                         np.maximum(region.pmin[cont], np.minimum(region.pmax[cont], region.available[cont])),
                                         region.ramp[cont], need)
    if stor.any():  # EV hubs: discharge what gas could not cover, or charge on what is left over
        gas_out = float(np.minimum(region.setpoint[cont], region.available[cont]).sum())
        region.setpoint[stor] = storage_setpoints(need - gas_out, region.available[stor], region.charge_cap[stor], thr)
    return np.where(cont, np.minimum(region.setpoint, region.available),
                    np.where(stor, np.clip(region.setpoint, 0.0, region.available), region.available))


def _pick_handover(region: Region, res: RebalanceResult, offers: Mapping[str, PeerOffer], peers: Sequence[str]) -> dict[str, np.ndarray]:
    """Starved consumers go to peers that advertised spare capacity at the previous tick
    (largest offer first); released here, placed by the peer in its next round."""
    handed: dict[str, np.ndarray] = {}
    if not res.starved_count or not offers:
        return handed
    share = 1.0 / max(1, len(peers))  # every short peer may ask the same donor
    for spare, peer in sorted(((s.headroom_mw - s.starved_mw, n) for n, s in offers.items()), reverse=True):
        if spare <= 0:
            continue
        idx = pick_handover(region.trees, spare * share * HANDOVER_MARGIN)
        if idx.size:
            region.release(idx)
            handed[peer] = idx
    return handed


def tracker_round(region: Region, inp: RoundInput) -> RoundOutput:
    """One round of a tracker over its region (see the module's docstring)."""
    trees = region.trees
    # 1. generators
    _apply_statuses(region, inp.statuses)
    # 2. consumers: reports, then handovers from peers (sender order)
    for rep in inp.reports:
        if len(rep.ids):
            region.update_demand(rep.ids, rep.demand_mw)
    accepted = declined = 0
    handed_in = []
    for ho in inp.handovers:
        if len(ho.ids):
            a, d, idx = region.accept_handover(ho.ids, ho.demand_mw)
            accepted, declined = accepted + a, declined + d
            handed_in.append(idx)
    output = _dispatch(region)
    if len(output):
        trees.apply_generator_updates(np.arange(len(output)), output)
    # 3. rebalance
    res = rebalance(trees, region.thr)
    # 4. hand starved consumers to peers with spare capacity (what they advertised last tick)
    handed_to = _pick_handover(region, res, inp.offers, inp.peers)
    handed = np.concatenate(list(handed_to.values())) if handed_to else np.zeros(0, dtype=np.int64)
    # 5. what changed
    changed = res.moved
    gen = np.where(res.moved_to >= 0, region.gen_ids[np.maximum(res.moved_to, 0)] if len(region.gen_ids) else 0, NO_GENERATOR)
    for idx in handed_in:  # accepted or kept starved: their new tracker is us
        new = np.setdiff1d(idx, changed)
        changed = np.concatenate([changed, new])
        gen = np.concatenate([gen, region.generator_of(new)])
    if handed.size:
        changed = np.concatenate([changed, handed])
        gen = np.concatenate([gen, np.full(handed.size, NO_GENERATOR)])
    # one entry per consumer, the last word wins (a consumer starved and then handed over
    # in the same round appears twice)
    last = len(changed) - 1 - np.unique(changed[::-1], return_index=True)[1]
    changed, gen = changed[last], gen[last]
    region.moved_total += int(res.moved.size)
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    steer = cont | stor
    after = region_summary(trees, region.thr)
    handovers = {}
    for peer in inp.peers:
        idx = handed_to.get(peer, np.zeros(0, dtype=np.int64))
        handovers[peer] = ConsumerBatch(region.cons_ids[idx], trees.demand[idx])
    figures = {
        "moved": res.moved.size, "newly_starved": res.newly_starved.size,
        "restored": res.restored.size, "shed": res.shed, "overloaded": res.overloaded,
        "starved": after.starved_count, "starved_mw": after.starved_mw, "capacity_mw": after.capacity_mw,
        "load_mw": after.load_mw, "headroom_mw": after.headroom_mw, "gas_setpoint_mw": float(region.setpoint[cont].sum()),
        "storage_setpoint_mw": float(region.setpoint[stor].sum()),
        "handed_out": handed.size, "handed_in_accepted": accepted, "handed_in_declined": declined,
        "generators": len(region.gen_ids), "consumers": int(np.count_nonzero(trees.assignment != ABSENT)),
    }
    return RoundOutput(ids=region.cons_ids[changed], gen_ids=gen.astype(np.int32), steer_gen_ids=region.gen_ids[steer],
                       setpoint_mw=region.setpoint[steer].copy(), handovers=handovers, summary=after, result=res, figures=figures)
