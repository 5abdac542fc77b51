"""A region's supply in one round: generator statuses in, dispatchable (gas) setpoints within
ramp limits and EV hub setpoints out, the placement run over them (twice when whole consumers
did not fit the aggregate's room), and what the region could reach next tick (`reach_mw`) and
advertise to peers (`room_and_short`, and last its EV hubs' `storage_room`). Pure: mutates only the `Region` it is given."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from scowl.balance.arrays import pick
from scowl.balance.dispatch import dispatch, required_output, storage_setpoints
from scowl.balance.fair import rotate
from scowl.balance.handover import region_summary
from scowl.balance.region import GenUpdate, Region
from scowl.balance.round import RebalanceResult, all_starved, rebalance
from scowl.balance.trees import EMPTY_G, STARVED, Trees
from scowl.balance.unseen import net_outputs, unseen_mw
from scowl.model import CONTINUOUS, STORAGE


def apply_statuses(region: Region, statuses: Sequence[GenUpdate], setpoints: bool = True) -> None:
    """Generators' available output and charge room as their fleets report; with `setpoints`,
    the dispatchable units' and EV hubs' setpoints too (a continuous round keeps the tick's)."""
    for st in statuses:
        if len(st.gen_ids):
            rows = region.gen_rows(st.gen_ids)
            region.available[rows] = st.output_mw
            region.charge_cap[rows] = st.charge_mw
            if setpoints:
                steer = np.isin(region.kind[rows], (CONTINUOUS, STORAGE))
                region.setpoint[rows[steer]] = np.asarray(st.setpoint_mw)[steer]


def tree_outputs(region: Region) -> np.ndarray:
    """Each generator's output: dispatchable units and EV hubs at their setpoints within what is
    available, the others at their available output (the trees count it net of the load the
    demand reports do not show: scowl.balance.unseen.net_outputs)."""
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    return np.where(cont, np.minimum(region.setpoint, region.available),
                    np.where(stor, np.clip(region.setpoint, 0.0, region.available), region.available))


def _dispatch(region: Region, base: np.ndarray, extra_mw: float = 0.0, charge: bool = False,
              floor: np.ndarray | None = None) -> np.ndarray:
    """Setpoints of the dispatchable units and EV hubs for the region's demand (plus `extra_mw`
    of load the placement could not fit in the aggregate's room), ramping from `base` (the
    setpoints the fleets run at), none below `floor` if given; returns each generator's output
    as the trees will count it. With `charge` (nobody starved here or at a peer), the gas units
    are also asked for the hubs' charge, as far as their ramp and availability let them, and the
    hubs charge on it. The demand is the trees' and the load the reports do not show (scowl.balance.unseen)."""
    thr = region.thr
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    summary = region_summary(region.trees, thr)
    demand_mw = summary.load_mw + summary.starved_mw + extra_mw + unseen_mw(region)
    fixed_out = float(region.available[~cont & ~stor].sum())
    need = required_output(demand_mw, fixed_out, thr)
    charge_mw = float(region.charge_cap[stor].sum()) if charge and not summary.starved_mw and not extra_mw else 0.0
    gas_need = required_output(demand_mw + charge_mw, fixed_out, thr)
    if cont.any():
        ramp = region.pmax if region.warm else region.ramp  # the day's first round: units were running before it
        # a unit runs at most at what it has available (an outage or derate below its minimum
        # gives that, not pmin): dispatching from phantom output starved consumers beside
        # spare gas and discharged EV hubs to cover it
        hi = np.minimum(region.pmax[cont], region.available[cont])
        region.setpoint[cont] = dispatch(np.minimum(base[cont], hi), np.minimum(region.pmin[cont], hi), hi,
                                         ramp[cont], gas_need)
        if floor is not None:
            region.setpoint[cont] = np.maximum(region.setpoint[cont], floor[cont])
    if stor.any():  # EV hubs: discharge what gas could not cover, or charge on what is left over
        gas_out = float(np.minimum(region.setpoint[cont], region.available[cont]).sum())
        region.setpoint[stor] = storage_setpoints(need - gas_out, region.available[stor], region.charge_cap[stor], thr)
        if floor is not None:
            region.setpoint[stor] = np.maximum(region.setpoint[stor], floor[stor])
    return tree_outputs(region)


def dispatch_and_place(region: Region, tick: int | None = None, charge: bool = False) -> RebalanceResult:
    """Dispatch for the region's demand and rebalance; if consumers are left starved while
    dispatchable units or EV hubs could still give more (the aggregate fitted, the consumers
    did not: a tree holds whole consumers), dispatch again for that load plus the largest
    starved consumer per generator, and place again; then, if consumers are still starved,
    rotate who starves (scowl.balance.fair). Starved time counts in ticks when `tick` is
    given; EV hubs charge on gas the region can spare when `charge`. Returns the round's
    changes against its start."""
    trees = region.trees
    base = region.setpoint.copy()
    output = _dispatch(region, base, charge=charge)
    if len(output):
        trees.apply_generator_updates(np.arange(len(output)), net_outputs(region, output))
    res = rebalance(trees, region.thr, clock=tick)
    if not res.starved_count:
        return res
    if _more_gas(region, base, output):
        res = replace(res, moved_to=EMPTY_G)  # (its only reference: a first round's millions go before the second pass)
        res = merge_results(res, rebalance(trees, region.thr, clock=tick), trees)
    if res.starved_count and region.rotate_after:
        res = merge_results(res, rotate(trees, region.thr, region.rotate_after), trees)
    return res


def place_handed_in(region: Region, base: np.ndarray, tick: int) -> RebalanceResult | None:
    """The sub-round: consumers peers handed us this tick that did not fit are placed on the
    room our dispatchable units (then EV hubs) can still ramp into from `base`, the setpoints
    the fleets run at; no setpoint goes below what this tick's round set, so no generator's
    output falls and nobody placed is shed. O(generators + the starved), not a whole round;
    None when nothing is starved."""
    trees = region.trees
    if not trees.n_unplaced:
        return None
    floor = region.setpoint.copy()
    output = _dispatch(region, base, floor=floor)
    trees.apply_generator_updates(np.arange(len(output)), net_outputs(region, output))
    res = rebalance(trees, region.thr, clock=tick)
    if res.starved_count and _more_gas(region, base, output, floor):
        res = replace(res, moved_to=EMPTY_G)
        res = merge_results(res, rebalance(trees, region.thr, clock=tick), trees)
    return res


def _more_gas(region: Region, base: np.ndarray, output: np.ndarray, floor: np.ndarray | None = None) -> bool:
    """The second pass of `dispatch_and_place`: more gas for whole consumers (the load plus the
    largest starved consumer per generator), set on the trees; False when none can give more.
    The caller then places again and merges: the merge reads where consumers are now from the
    trees, not the first pass's `moved_to`, which the caller lets go first."""
    trees = region.trees
    steer = np.isin(region.kind, (CONTINUOUS, STORAGE))
    ramp = region.pmax if region.warm else region.ramp
    more = np.where(steer, np.minimum(np.minimum(region.available, region.pmax), base + ramp) - output, 0.0)
    if float(np.maximum(more, 0.0).sum()) <= 0:
        return False
    starved = trees.demand[trees.assignment == STARVED].astype(np.float64)
    extra = float(starved.max()) * max(1, int(np.count_nonzero(output > 0))) if starved.size else 0.0
    output = _dispatch(region, base, extra, floor=floor)
    trees.apply_generator_updates(np.arange(len(output)), net_outputs(region, output))
    return True


def merge_results(first: RebalanceResult, second: RebalanceResult, trees: Trees) -> RebalanceResult:
    """Two rebalances of one round as one: what moved from the start of the first to now.
    Both lists are sorted: the second's (a few, mostly) are merged into the first's (a first
    round's millions) by a binary search, with no region-wide mark, sort or second copy of them
    (or the first's into the second's when the second is the longer: `_union`); a list kept whole
    is returned as it is, not copied (round 0's peak holds less)."""
    touched, start = _union(first, second)
    end = trees.assignment[touched]
    moved = start != end
    if moved.all():
        idx, frm, to = touched, start, end
    else:
        idx, frm, to = pick(touched, moved), pick(start, moved), pick(end, moved)
    del moved, touched, start, end
    if _all_starved(frm):  # (every one unplaced at the start, a first round's: one mask of its millions, not three)
        newly, restored = idx[:0], _subset(idx, to >= 0)
    else:
        newly, restored = _subset(idx, (frm >= 0) & (to == STARVED)), _subset(idx, (frm == STARVED) & (to >= 0))
    return RebalanceResult(moved=idx, moved_from=frm, moved_to=to, newly_starved=newly, restored=restored, shed=first.shed + second.shed,
                           overloaded=first.overloaded, starved_count=second.starved_count, starved_mw=second.starved_mw,
                           passes=first.passes + second.passes, load=second.load)


def _union(first: RebalanceResult, second: RebalanceResult) -> tuple[np.ndarray, np.ndarray]:
    """Both rounds' moved lists as one sorted list, and where each one was at the start of the
    first: the shorter list is found in the longer by a binary search and inserted (the index
    arrays as long as the shorter: a first round whose second placement placed the millions
    holds no intp copy of them). One moved in both: the first saw its start."""
    f, s = first.moved, second.moved
    if not s.size:
        return f, first.moved_from.astype(np.int32, copy=False)
    if s.size <= f.size:
        pos = np.searchsorted(f, s.astype(f.dtype, copy=False))  # (not an int64 copy of an int32 f: millions)
        known = pos < f.size
        known[known] = f[pos[known]] == s[known]  # moved in both: the first saw the start
        fresh = ~known
        at = pos[fresh]
        touched = np.insert(f, at, s[fresh])  # (at ascending with s: sorted, unique)
        start = second.moved_from[fresh]
        if _all_starved(first.moved_from) and bool((start == STARVED).all()):
            return touched, all_starved(touched.size)
        return touched, np.insert(first.moved_from.astype(np.int32, copy=False), at, start)  # (round 0's: no memory)
    pos = np.searchsorted(s, f.astype(s.dtype, copy=False))
    known = pos < s.size
    known[known] = s[pos[known]] == f[known]  # moved in both
    fresh = ~known
    at = pos[fresh]
    touched = np.insert(s, at, f[fresh])
    was = first.moved_from
    if _all_starved(second.moved_from) and bool((was == STARVED).all()):
        return touched, all_starved(touched.size)
    start = np.insert(second.moved_from.astype(np.int32, copy=False), at, was[fresh].astype(np.int32, copy=False))
    start[np.searchsorted(touched, f[known])] = was[known]  # (the first saw their start)
    return touched, start


def _all_starved(a: np.ndarray) -> bool:
    """Whether `a` is a broadcast view of STARVED (`round.all_starved`: a first round's moved_from)."""
    return a.strides == (0,) and bool((a[:1] == STARVED).all())


def _subset(a: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """`a[mask]`; `a` itself when the mask keeps every one (results are read, never written)."""
    return a if mask.all() else pick(a, mask)


def reach_mw(region: Region) -> float:
    """What the region's generators (not its storage) can give next tick, MW: fixed and
    stochastic units their available output, dispatchable units as far as their ramp lets
    them go from today's setpoint within what is available."""
    cont = region.kind == CONTINUOUS
    stor = region.kind == STORAGE
    gas = np.minimum(np.minimum(region.available[cont], region.pmax[cont]), region.setpoint[cont] + region.ramp[cont])
    return float(region.available[~cont & ~stor].sum()) + float(np.maximum(gas, 0.0).sum())


def storage_reach_mw(region: Region) -> float:
    """What the region's EV hubs could discharge next tick, MW (their available output)."""
    return float(np.maximum(region.available[region.kind == STORAGE], 0.0).sum())


def storage_room(region: Region, spare_mw: float) -> float:
    """The load, MW, the region could take next tick at the safety threshold on its EV hubs'
    discharge once its generators are full, given its generators' spare (`spare_mw`, room - short):
    what peers hand over against only after every generator's room (storage is the last resort)."""
    total = spare_mw + (1.0 - region.thr) * storage_reach_mw(region)
    return max(total, 0.0) - max(spare_mw, 0.0)


def room_and_short(region: Region) -> tuple[float, float]:
    """(room, short), MW: the load the region could still take next tick at the safety
    threshold with its generators ramped up, after its own demand and its growth over the last
    tick, and the load the demand reports do not show (scowl.balance.unseen); or the load it
    cannot carry (short). One of them is 0."""
    s = region_summary(region.trees, region.thr)
    demand = s.load_mw + s.starved_mw
    growth = max(0.0, demand - region.prev_demand_mw) if region.prev_demand_mw >= 0 else 0.0
    spare = (1.0 - region.thr) * reach_mw(region) - demand - unseen_mw(region) - growth
    return max(spare, 0.0), max(-spare, 0.0)
