"""Opening a gap for a whole consumer wider than every generator's gap (issue 18: storage discharges
only when no generator in reach can cover the load). A tree holds whole consumers, so a region's
spare can lie in many gaps too small for one consumer: on ny2030 at tick 199 the four regions had
7.6 MW of spare at the threshold over 330 generators, none of it in a gap over 0.15 MW, while
tracker-3's EV hubs carried five consumers of 0.19-0.39 MW. The spare was there, in the wrong
places: moving small consumers off one generator into the others' gaps opens a gap the wide one
fits. Pure: mutates only the `Trees` it is given, and says what it moved."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scowl.balance.place import plan_placement
from scowl.balance.region import Region
from scowl.balance.round import RebalanceResult
from scowl.balance.supply import merge_results
from scowl.balance.trees import EMPTY_I, STARVED, Trees
from scowl.balance.unseen import net_outputs
from scowl.model import CONTINUOUS, STORAGE

TRIES = 2  # generators tried per wide consumer (the largest gaps among those that can hold it)
WIDE = 8  # wide consumers tried per call, the largest first: each try sorts a unit's members (whole state, 1-minute
# tick 1034, uncapped: tracker-2 tried thousands of small hub consumers against 26 kW of gaps, a 50 s sub-round)
MOVES = 20_000  # small consumers moved per call at most (each is named in the round's Assign)
EPS = 1e-9  # MW: kept free under every ceiling (the sums of float32 demands round)


@dataclass(frozen=True)
class Opened:
    """What `open_gaps` did: `moved` (small consumers, unique) from `moved_from` to `moved_to`;
    `placed` (of the wide ones) on `placed_on`."""

    moved: np.ndarray
    moved_from: np.ndarray
    moved_to: np.ndarray
    placed: np.ndarray
    placed_on: np.ndarray

    @property
    def any(self) -> bool:
        return bool(self.placed.size)


def open_gaps(trees: Trees, cap: np.ndarray, wide: np.ndarray, frozen: np.ndarray | None, targets: np.ndarray) -> Opened:
    """Place the unplaced consumers `wide` (largest first) that no gap holds: each on one of the
    `targets` generators (a mask) whose gap, once some of its members (none `frozen`, a mask over
    consumers) move into the other targets' gaps, holds it. Of the targets whose ceiling (`cap`)
    holds it beside their members that stay, the TRIES with the largest gaps are tried (for the
    WIDE largest no gap holds as it stands; a gap opened for one may hold the next), the largest
    first: its smallest movable members (ties by index), as many as the gap lacks, are placed by
    `plan_placement` on the other targets' room, and the wide consumer goes on once all of them
    fit; otherwise nothing moves for it. No generator ends over its ceiling (less EPS);
    nothing moves once the total room of the targets is less than the consumer."""
    moved: list[np.ndarray] = []
    frm: list[np.ndarray] = []
    placed: list[int] = []
    on: list[int] = []
    budget = MOVES
    ceiling = np.where(targets, cap - EPS, 0.0)
    demand = trees.demand
    tried = 0
    for c in wide[np.lexsort((wide, -demand[wide].astype(np.float64)))]:
        d = float(demand[c])
        if trees.assignment[c] != STARVED:
            continue
        gap = np.where(targets, ceiling - trees.load, -np.inf)
        if float(np.maximum(gap, 0.0).sum()) < d:
            continue
        j = int(np.argmax(gap))
        if gap[j] >= d:  # (moves for an earlier one can leave one wide enough)
            trees.move(np.array([c]), np.array([j], dtype=np.int32))
            placed.append(int(c))
            on.append(j)
            continue
        if tried == WIDE:
            break
        tried += 1
        can = np.flatnonzero(targets & (ceiling >= d))  # (holds it once every member left)
        for j in can[np.argsort(-gap[can], kind="stable")][:TRIES]:
            plan = _opening(trees, ceiling, gap, int(j), d, frozen, budget)
            if plan is None:
                continue
            idx, gens = plan
            trees.move(idx, gens)
            budget -= idx.size
            moved.append(idx)
            frm.append(np.full(idx.size, j, dtype=np.int32))
            if trees.load[j] + d <= ceiling[j]:
                trees.move(np.array([c]), np.array([j], dtype=np.int32))
                placed.append(int(c))
                on.append(int(j))
            break
    idx = np.concatenate(moved) if moved else np.zeros(0, dtype=np.int64)
    start = np.concatenate(frm) if frm else np.zeros(0, dtype=np.int32)
    idx, first = np.unique(idx, return_index=True)  # (one moved twice: from where it was first)
    start, end = start[first], trees.assignment[idx].astype(np.int32)
    back = start != end
    return Opened(idx[back], start[back], end[back], np.array(placed, dtype=np.int64), np.array(on, dtype=np.int32))


def _opening(trees: Trees, ceiling: np.ndarray, gap: np.ndarray, j: int, d: float, frozen: np.ndarray | None,
             budget: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The smallest members of generator `j` (none `frozen`) that, moved into the other generators' gaps,
    leave it room for `d`, and where each goes; None when they do not all fit or `j` cannot."""
    lack = d - float(gap[j])
    members = trees.members(np.array([j]))
    ok = trees.assignment[members] == j
    if frozen is not None:
        ok &= ~frozen[members]
    members = members[ok]
    w = trees.demand[members].astype(np.float64)
    others = gap.copy()
    others[j] = -np.inf
    widest = float(others.max()) if others.size else 0.0
    keep = w <= widest
    members, w = members[keep], w[keep]
    order = np.lexsort((members, w))
    members, w = members[order], w[order]
    k = int(np.searchsorted(np.cumsum(w), lack, side="left")) + 1
    if k > members.size or k > budget:
        return None
    members, w = members[:k], w[:k]
    load = trees.load.copy()
    room = np.where(np.isfinite(others), ceiling, 0.0)
    room[j] = load[j]  # (no room on j itself)
    gens, _ = plan_placement(w, load, room)
    if (gens < 0).any():
        return None
    return members, gens.astype(np.int32)


def place_wide(region: Region, wide: np.ndarray, frozen: np.ndarray | None, res: RebalanceResult,
               base: np.ndarray | None = None) -> RebalanceResult:
    """The round's result `res` with `open_gaps` for the unplaced of `wide` on the region's generators
    (not its EV hubs: storage is the last resort) under their ceilings at what they can give this tick
    (dispatchable units as far as they ramp from `base`, the setpoints the fleets run at; at their
    setpoints now without it): a dispatchable unit whose load then passes its setpoint's ceiling is
    asked for that load (never past its reach). Unchanged where zone transfer limits hold (a move
    could cross a full interface)."""
    trees = region.trees
    wide = wide[trees.assignment[wide] == STARVED]
    if not wide.size or region.limits is not None:
        return res
    keep = 1.0 - region.thr
    cap = trees.cap(region.thr)
    cont = region.kind == CONTINUOUS
    if base is not None and cont.any():
        reach = np.minimum(np.minimum(region.available, region.pmax), base + region.ramp)
        cap = np.where(cont, np.maximum(cap, keep * net_outputs(region, np.maximum(reach, 0.0))), cap)
    op = open_gaps(trees, cap, wide, frozen, region.kind != STORAGE)
    if not op.moved.size and not op.placed.size:
        return res
    up = np.flatnonzero(cont & (trees.load > keep * trees.output))  # (ramped for what they now carry, unseen load too)
    if up.size:
        region.setpoint[up] = np.maximum(region.setpoint[up], trees.load[up] * (1.0 + region.drift[up]) / keep)
        trees.apply_generator_updates(up, net_outputs(region, np.minimum(region.setpoint[up], region.available[up]), up))
    idx = np.concatenate([op.moved, op.placed])
    frm = np.concatenate([op.moved_from, np.full(op.placed.size, STARVED, dtype=np.int32)])
    order = np.argsort(idx, kind="stable")
    idx, frm = idx[order], frm[order]
    placed_mw = float(trees.demand[op.placed].astype(np.float64).sum())
    more = RebalanceResult(moved=idx, moved_from=frm, moved_to=trees.assignment[idx].astype(np.int32), newly_starved=EMPTY_I,
                           restored=np.sort(op.placed), shed=0, overloaded=0, starved_count=trees.n_unplaced,
                           starved_mw=max(res.starved_mw - placed_mw, 0.0), passes=0, load=trees.load.copy())
    return merge_results(res, more, trees)
