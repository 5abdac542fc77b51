"""The tracker's balancing policy: ephemeral distribution trees kept as numpy arrays.

A tracker's region is G generators and N consumers (N up to millions), never per-peer
objects. `Trees` holds them; `rebalance` runs one round of the policy:

  (a) shed: every generator whose load exceeds (1 - threshold) x output gives up its
      fewest consumers that bring it at or under (largest first, the last pick swapped for
      the smallest consumer that still suffices), choosing among its consumers whose demand
      rose since the last round when they alone can cover the excess;
  (b) place: every unplaced consumer (just shed, previously starved, new joiner), oldest
      starvation first, goes to a generator with headroom so that no generator exceeds
      (1 - threshold) x output. Vectorized cumulative-sum placement: a first pass spreads
      load towards equal utilisation, later passes pack the leftovers smallest first into the
      roomiest generators, until nothing left fits anywhere;
  (c) whatever is left is starved (assignment -1).

Units: every power is MW. Consumer demand is float32 MW (a 1.3 kW household is 0.0013);
generator output and load are float64 MW. Assignment is int32: a generator index,
STARVED (-1) or ABSENT (-2: handed to a peer tracker, ignored everywhere).

Per-generator load is maintained incrementally (bincount over the changed consumers
only). A generator's members are found through a lazy index: a CSR snapshot of the
assignment sorted by generator, plus a log of consumers reassigned since the snapshot; the
snapshot is rebuilt (an O(N) radix sort) when the log exceeds N/16.

Modules, one concept each: `trees` (the state container and its lazy member index),
`shed` (which consumers an over-ceiling generator gives up), `place` (where unplaced
consumers go), `round` (`rebalance`, one round, and its report), `handover` (region
figures, handing starved consumers to peer trackers and accepting theirs), `region` (a
tracker's generators and consumers with their ids), `supply` (a region's dispatch and the room
it advertises), `giving` (what a region hands its peers, against their `PeerOffer`s),
`regionround` (`tracker_round`, a tracker's whole round), `invariants`
(`check_invariants`). Everything public is re-exported here.

Every function here is pure in the sense that matters for a simulation: no I/O, no clock,
no randomness, ties broken by index; they mutate the `Trees` they are given (copying
millions of entries per round is not an option) and report what changed.
"""

from __future__ import annotations

__all__ = [
    "ABSENT",
    "NO_GENERATOR",
    "STARVED",
    "AcceptResult",
    "ConsumerBatch",
    "FirstPass",
    "GenUpdate",
    "InterimOutput",
    "InvariantError",
    "PeerOffer",
    "RebalanceResult",
    "Region",
    "RegionSummary",
    "ANSWER_WINDOW",
    "HUB_ANSWER_WINDOW",
    "Answer",
    "RoundInput",
    "RoundOutput",
    "Trees",
    "ZoneLimits",
    "accept_consumers",
    "blocks",
    "id_blocks",
    "NamedIds",
    "check_invariants",
    "finish_round",
    "sub_round",
    "wrap_up",
    "first_pass",
    "interim_round",
    "handover_problem",
    "pick_handover",
    "rebalance",
    "region_summary",
    "release_consumers",
    "retire_fleet",
    "retire_generators",
    "tracker_round",
    "Room",
    "fresh_room",
    "second_offer",
    "wants_again",
    "unfit_mw",
]

from scowl.balance.arrays import blocks
from scowl.balance.consumer_ids import NamedIds, id_blocks
from scowl.balance.continuous import InterimOutput, interim_round
from scowl.balance.giving import PeerOffer
from scowl.balance.handed import ANSWER_WINDOW, HUB_ANSWER_WINDOW, Answer
from scowl.balance.handover import (
    AcceptResult,
    RegionSummary,
    accept_consumers,
    handover_problem,
    pick_handover,
    region_summary,
    release_consumers,
)
from scowl.balance.hubhop import Room, fresh_room, second_offer, unfit_mw, wants_again
from scowl.balance.invariants import InvariantError, check_invariants
from scowl.balance.limits import ZoneLimits
from scowl.balance.members import retire_fleet, retire_generators
from scowl.balance.region import NO_GENERATOR, ConsumerBatch, GenUpdate, Region
from scowl.balance.regionround import (
    FirstPass,
    RoundInput,
    RoundOutput,
    finish_round,
    first_pass,
    sub_round,
    tracker_round,
    wrap_up,
)
from scowl.balance.round import RebalanceResult, rebalance
from scowl.balance.trees import ABSENT, STARVED, Trees
