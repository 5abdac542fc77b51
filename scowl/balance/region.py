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
  4. starved consumers handed to peers that offered room last tick; and when the region's own
     generators, ramped up, cannot carry its load next tick, served consumers too (largest
     first): they stay on their generator this tick and leave it at the next round, when the
     peer places them on generators it has ramped for them. So a region without gas draws on a
     region with gas, and its EV storage only covers what no generator in reach can.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scowl.balance.dispatch import dispatch, required_output, storage_setpoints
from scowl.balance.handover import (
    RegionSummary,
    accept_consumers,
    pick_handover,
    region_summary,
    release_consumers,
)
from scowl.balance.round import RebalanceResult, rebalance
from scowl.balance.trees import ABSENT, STARVED, Trees
from scowl.model import CONTINUOUS, STORAGE

NO_GENERATOR = -(2**31)  # a consumer's generator id when it has none (wire.STARVED_ID)
GAS_START_FRACTION = 0.5  # a dispatchable unit's setpoint before its first status: half its nameplate
HANDOVER_MARGIN = 0.9  # of a peer's advertised room, the share a tracker hands it (its advert is a tick old)


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
    room_mw: float = 0.0  # load it could take next tick at the threshold, ramping its dispatchable units
    short_mw: float = 0.0  # load its own generators cannot carry next tick


@dataclass(frozen=True)
class RoundInput:
    tick: int
    statuses: Sequence[GenUpdate] = ()
    reports: Sequence[ConsumerBatch] = ()
    handovers: Sequence[ConsumerBatch] = ()  # peers' handovers of the previous tick, sender order
    offers: Mapping[str, PeerOffer] = field(default_factory=dict)  # peer -> last tick's offer
    peers: Sequence[str] = ()  # every peer tracker (the handover of each, empty or not, goes out)
    heard: Sequence[str] | None = None  # peers whose handover of the previous tick came (None: all)


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
    room_mw: float = 0.0
    short_mw: float = 0.0


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
        self.leaving: dict[str, np.ndarray] = {}  # served consumers handed to peers last round: gone this round
        # warm start: the first round solves the trees as the grid ran before the day began,
        # dispatchable units at whatever level the region needs (not ramping from a cold guess)
        self.warm = False  # set for the round of tick 0 only (fleets follow that round's setpoints unramped too)
        self.prev_demand_mw = -1.0  # the region's demand at the end of the last round (-1: no round yet)

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


def _dispatch(region: Region, base: np.ndarray, extra_mw: float = 0.0) -> np.ndarray:
    """Setpoints of the dispatchable units and EV hubs for the region's demand (plus `extra_mw`
    of load the placement could not fit in the aggregate's room), ramping from `base` (the
    setpoints the fleets run at); returns each generator's output as the trees will count it."""
    thr = region.thr
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    summary = region_summary(region.trees, thr)
    demand_mw = summary.load_mw + summary.starved_mw + extra_mw
    fixed_out = float(region.available[~cont & ~stor].sum())
    need = required_output(demand_mw, fixed_out, thr)
    if cont.any():
        ramp = region.pmax if region.warm else region.ramp  # the day's first round: units were running before it
        region.setpoint[cont] = dispatch(base[cont], region.pmin[cont],
                                         np.maximum(region.pmin[cont], np.minimum(region.pmax[cont], region.available[cont])),
                                         ramp[cont], need)
    if stor.any():  # EV hubs: discharge what gas could not cover, or charge on what is left over
        gas_out = float(np.minimum(region.setpoint[cont], region.available[cont]).sum())
        region.setpoint[stor] = storage_setpoints(need - gas_out, region.available[stor], region.charge_cap[stor], thr)
    return np.where(cont, np.minimum(region.setpoint, region.available),
                    np.where(stor, np.clip(region.setpoint, 0.0, region.available), region.available))


def _dispatch_and_place(region: Region) -> RebalanceResult:
    """Dispatch for the region's demand and rebalance; if consumers are left starved while
    dispatchable units or EV hubs could still give more (the aggregate fitted, the consumers
    did not: a tree holds whole consumers), dispatch again for that load plus the largest
    starved consumer per generator, and place again. Returns the round's changes against its start."""
    trees = region.trees
    base = region.setpoint.copy()
    output = _dispatch(region, base)
    if len(output):
        trees.apply_generator_updates(np.arange(len(output)), output)
    res = rebalance(trees, region.thr)
    if not res.starved_count:
        return res
    steer = np.isin(region.kind, (CONTINUOUS, STORAGE))
    ramp = region.pmax if region.warm else region.ramp
    more = np.where(steer, np.minimum(np.minimum(region.available, region.pmax), base + ramp) - output, 0.0)
    if float(np.maximum(more, 0.0).sum()) <= 0:
        return res
    starved = trees.demand[trees.assignment == STARVED].astype(np.float64)
    extra = float(starved.max()) * max(1, int(np.count_nonzero(output > 0))) if starved.size else 0.0
    output = _dispatch(region, base, extra)
    trees.apply_generator_updates(np.arange(len(output)), output)
    return _merge(res, rebalance(trees, region.thr), trees)


def _merge(first: RebalanceResult, second: RebalanceResult, trees: Trees) -> RebalanceResult:
    """Two rebalances of one round as one: what moved from the start of the first to now."""
    if not second.moved.size:
        touched = first.moved
    else:  # both sorted: mark and collect (O(N) bytes, no sort of a million indices)
        mark = np.zeros(trees.n, dtype=bool)
        mark[first.moved] = True
        mark[second.moved] = True
        touched = np.flatnonzero(mark)
    start = trees.assignment[touched].copy()
    start[np.searchsorted(touched, second.moved)] = second.moved_from
    start[np.searchsorted(touched, first.moved)] = first.moved_from  # the first pass saw the start
    end = trees.assignment[touched]
    moved = start != end
    idx, frm, to = touched[moved], start[moved], end[moved]
    return RebalanceResult(moved=idx, moved_from=frm, moved_to=to, newly_starved=idx[(frm >= 0) & (to == STARVED)],
                           restored=idx[(frm == STARVED) & (to >= 0)], shed=first.shed + second.shed,
                           overloaded=first.overloaded, starved_count=second.starved_count, starved_mw=second.starved_mw,
                           passes=first.passes + second.passes, load=second.load)


def reach_mw(region: Region) -> float:
    """What the region's generators (not its storage) can give next tick, MW: fixed and
    stochastic units their available output, dispatchable units as far as their ramp lets
    them go from today's setpoint within what is available."""
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    gas = np.minimum(np.minimum(region.available[cont], region.pmax[cont]), region.setpoint[cont] + region.ramp[cont])
    return float(region.available[~cont & ~stor].sum()) + float(np.maximum(gas, 0.0).sum())


def room_and_short(region: Region) -> tuple[float, float]:
    """(room, short), MW: the load the region could still take next tick at the safety
    threshold with its generators ramped up, after its own demand and its growth over the last
    tick; or the load it cannot carry (short). One of them is 0."""
    s = region_summary(region.trees, region.thr)
    demand = s.load_mw + s.starved_mw
    growth = max(0.0, demand - region.prev_demand_mw) if region.prev_demand_mw >= 0 else 0.0
    spare = (1.0 - region.thr) * reach_mw(region) - demand - growth
    return max(spare, 0.0), max(-spare, 0.0)


def pick_served(trees: Trees, max_mw: float, exclude: np.ndarray) -> np.ndarray:
    """Served consumers worth at most `max_mw`, largest first (ties by index), none of
    `exclude`: the ones a short region hands to a peer before they starve."""
    a = trees.assignment
    cand = np.flatnonzero(a >= 0)
    if exclude.size:
        cand = cand[~np.isin(cand, exclude)]
    if not cand.size or max_mw <= 0:
        return np.zeros(0, dtype=np.int64)
    d = trees.demand[cand].astype(np.float64)
    kth = min(cand.size, max(64, int(4 * max_mw / max(float(d.mean()), 1e-12)) + 1))
    top = np.argpartition(-d, kth - 1)[:kth] if kth < cand.size else np.arange(cand.size)
    top = top[np.lexsort((cand[top], -d[top]))]
    take = top[np.cumsum(d[top]) <= max_mw]
    return np.sort(cand[take])


def _pick_handover(region: Region, res: RebalanceResult, offers: Mapping[str, PeerOffer], short_mw: float,
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Starved consumers go to peers that advertised room at the previous tick (largest offer
    first), released here at once and placed by the peer in its next round; then, if the
    region is short, served consumers up to what it is short, released at the next round.
    Every short tracker sees the same adverts, so a donor's room is split between them.
    Returns (starved handed, served handed) by peer."""
    starved: dict[str, np.ndarray] = {}
    served: dict[str, np.ndarray] = {}
    donors = sorted(((s.room_mw, n) for n, s in offers.items() if s.room_mw > 0), reverse=True)
    if not donors or (not res.starved_count and short_mw <= 0):
        return starved, served
    n_short = sum(1 for s in offers.values() if s.short_mw > 0 or s.starved_mw > 0) + 1
    short_left = short_mw
    taken = np.zeros(0, dtype=np.int64)
    for room, peer in donors:
        budget = room * HANDOVER_MARGIN / n_short
        idx = pick_handover(region.trees, budget)
        if idx.size:
            region.release(idx)
            starved[peer] = idx
            budget -= float(region.trees.demand[idx].astype(np.float64).sum())
        if short_left > 0 and budget > 0:
            idx = pick_served(region.trees, min(budget, short_left), taken)
            if idx.size:
                served[peer] = idx
                taken = np.concatenate([taken, idx])
                short_left -= float(region.trees.demand[idx].astype(np.float64).sum())
    return starved, served


def tracker_round(region: Region, inp: RoundInput) -> RoundOutput:
    """One round of a tracker over its region (see the module's docstring)."""
    trees = region.trees
    region.warm = inp.tick == 0
    # 1. generators
    _apply_statuses(region, inp.statuses)
    # 2. consumers: reports, then handovers from peers (sender order)
    for rep in inp.reports:
        if len(rep.ids):
            region.update_demand(rep.ids, rep.demand_mw)
    for peer, idx in region.leaving.items():  # handed to a peer last round, served until now: the peer has them now
        if inp.heard is None or peer in inp.heard:  # (a peer we did not hear from may not have them: we keep them)
            region.release(idx)
    region.leaving = {}
    accepted = declined = 0
    handed_in = []
    handed_in_mw = 0.0
    for ho in inp.handovers:
        if len(ho.ids):
            a, d, idx = region.accept_handover(ho.ids, ho.demand_mw)
            accepted, declined = accepted + a, declined + d
            handed_in.append(idx)
            handed_in_mw += float(np.asarray(ho.demand_mw, dtype=np.float64).sum())
    if region.prev_demand_mw >= 0:
        region.prev_demand_mw += handed_in_mw  # taken over, not grown
    # 3. dispatch and rebalance
    res = _dispatch_and_place(region)
    region.warm = False
    # 4. hand starved consumers to peers with spare capacity (what they advertised last tick)
    _, short = room_and_short(region)
    handed_to, served_to = _pick_handover(region, res, inp.offers, short)
    handed = np.concatenate(list(handed_to.values())) if handed_to else np.zeros(0, dtype=np.int64)
    region.leaving = served_to
    leaving = np.concatenate(list(served_to.values())) if served_to else np.zeros(0, dtype=np.int64)
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
    room, short = room_and_short(region)
    leaving_mw = float(trees.demand[leaving].astype(np.float64).sum())
    spare = room - short + leaving_mw  # what leaves next round is no longer ours to carry
    room, short = max(spare, 0.0), max(-spare, 0.0)
    region.prev_demand_mw = after.load_mw + after.starved_mw - leaving_mw
    handovers = {}
    for peer in inp.peers:
        idx = np.concatenate([handed_to.get(peer, np.zeros(0, dtype=np.int64)), served_to.get(peer, np.zeros(0, dtype=np.int64))])
        handovers[peer] = ConsumerBatch(region.cons_ids[idx], trees.demand[idx])
    figures = {
        "moved": res.moved.size, "newly_starved": res.newly_starved.size,
        "restored": res.restored.size, "shed": res.shed, "overloaded": res.overloaded,
        "starved": after.starved_count, "starved_mw": after.starved_mw, "capacity_mw": after.capacity_mw,
        "load_mw": after.load_mw, "headroom_mw": after.headroom_mw, "gas_setpoint_mw": float(region.setpoint[cont].sum()),
        "storage_setpoint_mw": float(region.setpoint[stor].sum()),
        "handed_out": handed.size, "handed_out_served": leaving.size, "handed_out_served_mw": leaving_mw,
        "room_mw": room, "short_mw": short, "reach_mw": reach_mw(region), "handed_in_accepted": accepted, "handed_in_declined": declined,
        "generators": len(region.gen_ids), "consumers": int(np.count_nonzero(trees.assignment != ABSENT)),
    }
    return RoundOutput(ids=region.cons_ids[changed], gen_ids=gen.astype(np.int32), steer_gen_ids=region.gen_ids[steer],
                       setpoint_mw=region.setpoint[steer].copy(), handovers=handovers, summary=after, result=res, figures=figures,
                       room_mw=room, short_mw=short)
