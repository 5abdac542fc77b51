"""Region figures and cross-tracker handover of starved consumers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from scowl.balance.arrays import sum_at
from scowl.balance.place import plan_placement
from scowl.balance.trees import ABSENT, EMPTY_I, Trees, as_index, as_power, unique_ints


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
    starved = trees.starved()  # longest starved first
    starved_mw = sum_at(trees.demand, starved)  # (no float64 copy of a first round's millions)
    capacity, load = float(cap.sum()), float(trees.load.sum())
    return RegionSummary(
        capacity_mw=capacity,
        load_mw=load,
        headroom_mw=float(np.maximum(cap - trees.load, 0.0).sum()),
        starved_mw=starved_mw,
        starved_count=int(starved.size),
        surplus_mw=capacity - load - starved_mw,
    )


def pick_handover(trees: Trees, max_mw: float) -> np.ndarray:
    """Starved consumers to hand to a peer tracker that advertised `max_mw` spare: the
    longest-starved first while they fit, then the smallest of the rest while they fit.
    Total demand <= max_mw. Returns consumer indices (ascending); nothing changes until
    `release_consumers` is called for those the peer accepted."""
    starved = trees.starved()  # longest starved first
    if not starved.size or max_mw <= 0:
        return EMPTY_I
    d = trees.demand[starved].astype(np.float64)
    first = np.cumsum(d) <= max_mw  # a prefix: demands are >= 0
    left = max_mw - float(d[first].sum())
    rest = np.flatnonzero(~first)
    rest = rest[np.argsort(d[rest], kind="stable")]
    second = rest[np.cumsum(d[rest]) <= left]
    return np.sort(np.concatenate([starved[first], starved[second]]))


def release_consumers(trees: Trees, idx: ArrayLike) -> None:
    """Consumers handed over to a peer leave this region (assignment ABSENT)."""
    idx = unique_ints(as_index("release_consumers idx", idx, trees.n))
    trees.move(idx, np.full(idx.size, ABSENT, dtype=np.int32))


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


def accept_consumers(trees: Trees, demand: ArrayLike, safety_threshold: float = 0.10) -> AcceptResult:
    """Take in a peer's consumers (demand MW, in the peer's priority order) where they fit
    under (1 - threshold) x output; the rest are declined (not added) and stay with the peer."""
    demand = np.asarray(demand, dtype=np.float32)
    demand = as_power("accept_consumers demand", demand, demand.size, np.float32)
    cap = trees.cap(safety_threshold)
    gen, _ = plan_placement(demand.astype(np.float64), trees.load, cap)
    ok = gen >= 0
    idx = trees.add_consumers(demand[ok], gen[ok])
    viol = np.flatnonzero(trees.load > cap)
    if viol.size:  # float rounding between the plan and the loads: decline what went there
        keep = ~np.isin(trees.assignment[idx], viol)
        release_consumers(trees, idx[~keep])
        ok[np.flatnonzero(ok)[~keep]] = False
        idx = idx[keep]
    return AcceptResult(accepted=ok, index=idx, generator=trees.assignment[idx].copy())


def handover_problem(ids: np.ndarray, n_global: int) -> str | None:
    """Why a peer's Handover cannot be taken as it is (None: it can): a consumer index outside the
    state, or a consumer named twice. A peer that follows the protocol never sends either; taken,
    the first would fail the round and the second would put one consumer in two trees."""
    lo = np.asarray(ids["lo"]).astype(np.int64)
    if not lo.size:
        return None
    if lo.min() < 0 or lo.max() >= n_global:
        return f"consumer index outside [0, {n_global})"
    if unique_ints(lo).size != lo.size:
        return "a consumer named twice"
    return None
