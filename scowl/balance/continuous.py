"""A continuous round: what a tracker does between its tick rounds under real-time pacing, on
whatever updates have come since its last round (scowl.balance.regionround is the tick's round).

Generators' statuses bring their available output (not their setpoints: the fleets follow the
setpoints of the tick's round, sent once a tick), demand reports the consumers' demand; the
trees' outputs are refreshed from them (dispatchable units and EV hubs at their setpoints,
within what is available) and `rebalance` sheds from generators now over their ceiling and
places the starved where there is room. No dispatch, no handover, no rotation: those are the
tick round's. Cost: the updates plus a rebalance (proportional to the generators over their
ceiling, the risers and the starved), not a whole round. Pure: arrays in, arrays out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from scowl.balance.intake import frozen, report_demand
from scowl.balance.region import NO_GENERATOR, ConsumerBatch, GenUpdate, Region
from scowl.balance.round import rebalance
from scowl.balance.supply import apply_statuses, tree_outputs
from scowl.balance.unseen import net_outputs


@dataclass(frozen=True)
class InterimOutput:
    """Consumers (wire ids) whose generator changed, and the generator id each is on now
    (NO_GENERATOR: starved); what the round did, for the tracker's figures."""

    ids: np.ndarray
    gen_ids: np.ndarray
    moved: int
    starved: int


def interim_round(region: Region, tick: int, statuses: Sequence[GenUpdate] = (), reports: Sequence[ConsumerBatch] = (),
                  unheard: Sequence[int] = ()) -> InterimOutput:
    """Apply the updates that came since the last round and rebalance on them (see the module's
    docstring). Starved time counts in ticks (`tick`): a continuous round adds none. `unheard`:
    id prefixes of populations the last tick round did not hear; their consumers stay where they
    are, as in a tick round."""
    apply_statuses(region, statuses, setpoints=False)
    for rep in reports:
        report_demand(region, rep)
    trees = region.trees
    if statuses and len(region.gen_ids):
        trees.apply_generator_updates(np.arange(len(region.gen_ids)), net_outputs(region, tree_outputs(region)))
    trees.frozen = frozen(region, unheard)
    try:
        res = rebalance(trees, region.thr, clock=tick)
    finally:
        trees.frozen = None
    gen = np.where(res.moved_to >= 0, region.gen_ids[np.maximum(res.moved_to, 0)] if len(region.gen_ids) else 0, NO_GENERATOR)
    region.moved_total += int(res.moved.size)
    return InterimOutput(ids=region.ids_of(res.moved), gen_ids=gen.astype(np.int32), moved=int(res.moved.size), starved=res.starved_count)
