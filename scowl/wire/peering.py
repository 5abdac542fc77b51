"""The tracker-to-tracker messages of a tick (scowl.wire.grid holds the rest of the grid protocol):
each region's summary, the consumers one region hands another, and the answer about the
part of them served on the giver's EV hubs.
"""

from __future__ import annotations

from typing import ClassVar

from scowl.wire.batch import Batch
from scowl.wire.codec import Message, message


@message("region-summary")
class RegionSummary(Message, frozen=True):
    """Tracker -> peer trackers, once per tick: spare capacity and shortfall of my region. `room_mw`: the load my region
    could take on next tick at the safety threshold, counting the output its dispatchable units can ramp into (what peers
    hand over against); `short_mw`: the load my own generators cannot carry next tick even ramped up (I hand it to peers);
    `storage_room_mw`: the load my EV hubs' discharge could take on once my generators are full (peers hand over against
    it only after every generator's room: storage is the last resort). `firm_mw`: of `room_mw`, what my dispatchable units
    can ramp into, firm within a tick (the rest rests on stochastic output, which can fall before your starved reach me):
    hand your starved against it first, then against EV hub room, then the rest. `took`: the ticks of your Handovers I
    took within the last 32 ticks (in my sub-round of their tick, or of the next one when it came too late: I placed their
    starved consumers or keep them starved, and take their served ones at my next round), repeated in every summary so
    one lost summary loses no answer. A Handover of tick t not listed by my summary of a tick after t I never take.
    `hub_took`: my `HubTaken` answers to you of the last 32 ticks that placed any of your hub part, as (tick, n, taken),
    repeated in every summary: an answer lost on its way still releases them at your end (held by one tracker).
    `hub_heard`: the ticks (the last 32) of your answers about my hub parts I applied before my Assign of their tick.
    The consumers you placed from a hub part of mine whose tick is not listed in my summary of that tick (your answer
    came late, or was lost, or this summary is): name them again (where they are now) at your next round, so every
    population and fleet follows your word, not my Assign that named them on my hub."""

    tick: int
    capacity_mw: float
    load_mw: float
    headroom_mw: float
    starved_mw: float
    starved: int
    room_mw: float = 0.0
    short_mw: float = 0.0
    storage_room_mw: float = 0.0
    took: list[int] = []
    firm_mw: float = 0.0
    hub_took: list[tuple[int, int, bytes]] = []
    hub_heard: list[int] = []


@message("handover")
class Handover(Batch, frozen=True):
    """Tracker -> peer tracker, once per tick after its first pass, before its Assign: consumers
    I hand you because you had spare capacity (empty when none). The first `n - later` are
    starved: place them in this tick's sub-round (your Assign names them; mine names them as
    `handed`, which yours beats); the last `later` are served and stay on my generators this
    tick: take them at your next tick's round. Take it in your sub-round of `tick`, or of the
    next tick if it came too late for that one, never later; your RegionSummaries say you took
    it (`took`), and until one does I keep them as mine too. The `hub` before the `later` ones
    are served on my EV hubs: place what fits in your sub-round of `tick` only (never later)
    and tell me which (`HubTaken`); I release those before my Assign, the rest stay on my hubs.
    `again` 1: my hubs may carry load after my sub-round: answer me (`HubTaken`, with no hub part
    too) after your sub-round with the room you have left, and wait for my second offer of tick
    `tick` before your Assign. `again` 2: this is that second offer (every consumer of it is the
    hub part, `hub` == `n`; none: nothing to place): place what fits at once and answer with the
    bits of both offers of the tick (the first's, then these)."""

    COLUMNS: ClassVar = (("ids", "id128"), ("demand_mw", "<f4"))
    tick: int
    n: int
    ids: bytes
    demand_mw: bytes
    later: int = 0
    hub: int = 0
    again: int = 0


@message("hub-taken")
class HubTaken(Message, frozen=True):
    """Tracker -> peer tracker, after its sub-round of `tick`, for each of the peer's Handovers
    of `tick` with a hub part (`Handover.hub`, `n` consumers): which of them, in the Handover's
    order, it placed on its generators and names in its own Assign (`taken`: a bitmap, numpy
    packbits, ceil(n / 8) bytes). The giver waits for it before its Assign and releases those.
    To a giver whose Handover said `again` 1, sent with no hub part too (n = 0): `room_mw`, the load
    of a hub part I can still take (my room after my sub-round x the margin), and `fits_mw`, my
    largest per-generator gaps (at most 64, descending), so the giver's second offer of the tick
    goes where its consumers fit. The answer to that second offer (`Handover.again` 2) has the bits
    of both offers of the tick, the first's (as answered) then the second's."""

    tick: int
    n: int
    taken: bytes
    room_mw: float = 0.0
    fits_mw: list[float] = []
