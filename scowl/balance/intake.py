"""What comes into a tracker's round besides its generators (scowl.balance.regionround): peers'
consumers taken in (`accept`), a population's demand report (`report_demand`), and what a
round must not move (`frozen`) or may hand on from the region's EV hubs (`on_hubs`). Pure:
mutates only the `Region` it is given."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from scowl.balance.giving import HubLoad
from scowl.balance.region import ConsumerBatch, Region
from scowl.model import STORAGE


def accept(region: Region, batches: Sequence[ConsumerBatch]) -> tuple[list[np.ndarray], int, int, float]:
    """Peers' consumers, in sender order: placed where they fit, kept starved otherwise.
    Returns (indices per batch, accepted, declined, MW)."""
    accepted = declined = 0
    handed_in = []
    mw = 0.0
    for ho in batches:
        ids, demand = ho.ids, ho.demand_mw
        if len(ids):  # a consumer we hold already (a stale or repeated handover) is not added twice
            fresh = region.local_of[region.global_index(ids)] < 0
            if not fresh.all():
                region.handed_in_held += int((~fresh).sum())
                ids, demand = ids[fresh], np.asarray(demand)[fresh]
        if len(ids):
            a, d, idx = region.accept_handover(ids, demand)
            accepted, declined = accepted + a, declined + d
            handed_in.append(idx)
            mw += float(np.asarray(demand, dtype=np.float64).sum())
    return handed_in, accepted, declined, mw


def frozen(region: Region, unheard: Sequence[int]) -> np.ndarray | None:
    """The consumers a round must neither shed, move nor place: those of populations not heard
    this tick (Region.frozen), and the served ones handed to a peer that has not answered yet (if
    it took them they are its own: moved or handed on here, they would be held twice)."""
    mask = region.frozen(unheard)
    pending = region.handed_out.served()
    if pending.size:
        mask = np.zeros(region.trees.n, dtype=bool) if mask is None else mask.copy()
        mask[pending] = True
    return mask


def on_hubs(region: Region, unheard: Sequence[int]) -> HubLoad | None:
    """The served consumers the region's EV hubs carry that a round may move (none `frozen`); None when they carry none."""
    rows = np.flatnonzero(region.kind == STORAGE)
    if not rows.size or not float(region.trees.load[rows].sum()) > 0:
        return None
    return HubLoad(region.trees, rows, frozen(region, unheard))


def report_demand(region: Region, rep: ConsumerBatch) -> None:
    """A population's demand report: our consumers' demand, and that of the starved we handed out
    and still wait for the taker's answer about (kept with them: scowl.balance.handed)."""
    if len(rep.ids):
        other = region.handed_out.absorb(rep.ids, rep.demand_mw)
        region.update_demand(*((rep.ids, rep.demand_mw) if other is None else (rep.ids[other], rep.demand_mw[other])))
