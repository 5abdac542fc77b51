"""Load the demand reports do not show (issue 18: storage discharges only when no generator in reach
can cover the load). A population reports a consumer only once its demand moves past the report
threshold (5 % of its last report), so a region's view of what a generator carries drifts from what
its consumers draw while demand trends one way: on the whole state at 1-minute ticks the trackers'
view ran 25 MW off on average and 34 MW high in the falling evening, where at tick 1034 the EV hubs
discharged 14 MW though the generators' real load left room for it.

Each fleet tells its tracker what every generator carried last tick (GenStatus.load_mw, its
consumers' draw: the truth). Against the region's view of that generator at the end of last tick's
round it gives the share its consumers drew beyond what they reported (`Region.drift`, either sign).
A round counts a generator's load as its view x (1 + drift): the trees' output of a generator is
divided by it (`net_outputs`), dispatch and the room a region advertises add the difference
(`unseen_mw`). A share, not MW, so it follows the consumers: a generator whose consumers leave takes
none of theirs with it (a unit dispatched to 0 MW keeps no room). It is bounded by the report
threshold (`Region.drift_bound`): no consumer's report is further off than that, so a larger
difference is views that disagree (a partition), not drift. The bound and the safety threshold keep
a generator out of blackout whatever the drift does within the tick: 0.9 x 1.05 / 0.95 < 1.
It is a tick old; the drift moves slowly (statewide ~0.6 MW a 1-minute tick against ~25 MW)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scowl.balance.region import GenUpdate, Region


def observe(region: Region, statuses: Sequence[GenUpdate], tick: int) -> None:
    """A tick round's telemetry: each generator's drift is what its fleet says it carried last tick
    over the region's view of it then (`remember`), less 1, within the bound. None (0) for a generator
    without a status or a view then (none placed on it, joined since), or when the region's last round
    was not last tick's (the first tick, a round missed): the load then is not the one the view was of."""
    region.drift[:] = 0.0
    if region.seen_tick != tick - 1 or tick <= 0 or region.drift_bound <= 0:
        return
    for st in statuses:
        if st.load_mw is not None and len(st.gen_ids):
            rows = region.gen_rows(st.gen_ids)
            seen = region.seen[rows]  # (NaN: joined since)
            ok = seen > 0
            told = np.asarray(st.load_mw, dtype=np.float64)
            share = np.divide(told, seen, out=np.ones(rows.size), where=ok) - 1.0
            region.drift[rows] = np.clip(share, -region.drift_bound, region.drift_bound)


def remember(region: Region, tick: int) -> None:
    """The end of a tick round: the view of each generator's load the fleets' next statuses answer."""
    region.seen = np.array(region.trees.load, dtype=np.float64)
    region.seen_tick = tick


def net_outputs(region: Region, output: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
    """Generators' output (at `rows`) as the trees count it, against the load they hold in our view:
    divided by 1 + drift, so the ceiling, (1 - threshold) x output, bounds the load they really carry."""
    return np.asarray(output, dtype=np.float64) / (1.0 + region.drift[rows])


def unseen_mw(region: Region) -> float:
    """What the region's generators carry beyond its view of them, MW (negative: less than it)."""
    return float(np.dot(region.drift, region.trees.load))
