"""What a region hands its peers at the end of its first pass (step 4 of scowl.balance.regionround):
its starved consumers, placed by a peer in this tick's sub-round, and served ones a peer takes at its
next round, against the room each peer advertised at the end of its last round (`PeerOffer`). Pure:
mutates only the `Region` it is given (the starved it hands are released from its trees)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from scowl.balance.handover import pick_handover
from scowl.balance.region import Region
from scowl.balance.round import RebalanceResult
from scowl.balance.served import LargestServed
from scowl.balance.supply import storage_reach_mw
from scowl.balance.trees import Trees

HANDOVER_MARGIN = 0.9  # of a peer's advertised room, the share a tracker hands it (its advert is a tick old)
HUB_OFFER = 2.0  # x a peer's advertised room: what our hubs carry we offer it now (a tick old; it places only what fits)
_EVERY_BLOCK = 1 << 18  # consumers `HubLoad._every` looks at a time


@dataclass(frozen=True)
class PeerOffer:
    """What a peer tracker advertised at the end of its previous round, MW."""

    headroom_mw: float
    starved_mw: float
    room_mw: float = 0.0  # load it could take next tick at the threshold, ramping its dispatchable units
    short_mw: float = 0.0  # load its own generators cannot carry next tick
    storage_room_mw: float = 0.0  # load it could take next tick on its EV hubs' discharge once its generators are full
    firm_mw: float = 0.0  # of room_mw, what its dispatchable units' ramp gives (the rest can fall within a tick)


class HubLoad(LargestServed):
    """The served consumers a region's EV hubs carry (generator rows `rows`; none of the `frozen`
    mask), largest first (ties by index), sorted only as far as the picks ask: in the evening
    the hubs carry a million consumers and a peer's room takes a few thousand. Valid for one
    round's picks. `widest`: only those whose demand is at most it (a second hop's: what fits a gap)."""

    def __init__(self, trees: Trees, rows: np.ndarray, frozen: np.ndarray | None = None, widest: float | None = None) -> None:
        super().__init__(trees)
        self._frozen = frozen
        self._widest = widest
        self._hub = np.zeros(trees.G, dtype=bool)
        self._hub[rows] = True

    def _ours(self, idx: np.ndarray) -> np.ndarray:
        a = self.trees.assignment[idx]
        ok = (a >= 0) & self._hub[np.maximum(a, 0)]
        if self._frozen is not None:
            ok &= ~self._frozen[idx]
        if self._widest is not None:
            ok &= self.trees.demand[idx] <= self._widest
        picked: np.ndarray = idx[ok]
        return picked

    def _every(self) -> np.ndarray:
        """`_ours` of the whole region a block of indices at a time: its masks and gathers whole (~16 B a
        consumer) came to +10 MB at tracker-3's tick 184 of the whole state (the hubs' first evening picks)."""
        n, step = self.trees.n, _EVERY_BLOCK
        parts = [self._ours(np.arange(a, min(a + step, n))) for a in range(0, n, step)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def pick_handovers(region: Region, res: RebalanceResult, offers: Mapping[str, PeerOffer], short_mw: float,
                   lost_mw: float = 0.0, on_hubs: HubLoad | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Starved consumers go to peers that advertised room at the previous tick (largest offer
    first), released here at once and placed by the peer in this tick's sub-round; then, if the
    region is short, served consumers up to what it is short, released at the next round.
    Peers' generator room first; only then the room on peers' EV hubs (storage is the last
    resort: served consumers go there only for what our own hubs cannot cover either). But when
    the regions' shortfalls claim all the generator room advertised, the starved go to the EV
    hubs first: that room will be full when they come. Otherwise the starved go to the firm part
    of the peers' generator room (their dispatchable units' ramp) first, then to the EV hubs, and
    only then to the rest, which rests on stochastic output that can fall before they arrive (a
    taker cannot return in the tick what it cannot place). And a region whose own advertised spare
    shrank by `lost_mw` since its last round (weather and demand it shares with its peers) counts
    on that much less of each peer's generator room for its starved (served load, which moves
    next tick, still counts on all of it).
    Our own EV hubs are the last resort too: the served consumers they carry (`on_hubs`, none
    frozen) are offered first to the peers' generator room THIS tick, as the hub part of the
    Handover: they stay on our hubs, the taker places in its sub-round what fits the room it has
    left after its own load and its growth (`sub_round`) and says which (`wrap_up` releases those
    here before our Assign); one it does not place stays on our hub, served (never starved: as
    starved handovers they were declined and starved beside spare, 14,470 consumers on the whole
    state at 1-minute ticks).
    Every short tracker sees the same adverts, so a donor's room is split between them.
    Returns (starved handed, served handed, hub part offered) by peer."""
    starved: dict[str, list[np.ndarray]] = {}
    served: dict[str, list[np.ndarray]] = {}
    hub_now: dict[str, list[np.ndarray]] = {}
    gas = sorted(((s.room_mw, n) for n, s in offers.items() if s.room_mw > 0), reverse=True)
    hubs = sorted(((s.storage_room_mw, n) for n, s in offers.items() if s.storage_room_mw > 0), reverse=True)
    if not (gas or hubs) or (not res.starved_count and short_mw <= 0 and on_hubs is None):
        return {}, {}, {}
    n_short = sum(1 for s in offers.values() if s.short_mw > 0 or s.starved_mw > 0) + 1
    budget = {(last, peer): room * HANDOVER_MARGIN / n_short for donors, last in ((gas, False), (hubs, True)) for room, peer in donors}

    pending = region.handed_out.served()  # handed to a peer that has not answered: not ours to hand again
    gave: dict[str, float] = {}  # MW of starved handed to each peer

    def hand_starved(last: bool, peer: str) -> None:
        idx = pick_handover(region.trees, budget[last, peer] - (0.0 if last else lost_mw))
        if idx.size and pending.size:
            idx = idx[~np.isin(idx, pending)]
        if idx.size:
            region.release(idx)
            starved.setdefault(peer, []).append(idx)
            mw = float(region.trees.demand[idx].astype(np.float64).sum())
            budget[last, peer] -= mw
            gave[peer] = gave.get(peer, 0.0) + mw

    # When the regions' shortfalls (ours and the peers', served on EV hubs until their load moves
    # to a peer's gas) claim all the generator room advertised, that room is spoken for: starved
    # consumers handed against it would find it full and starve a tick at the peer. They go to
    # the peers' EV hubs first then (no generator in reach can cover them), and the generator
    # room is left to the served load that moves next tick.
    claimed = short_mw + sum(s.short_mw for s in offers.values()) >= sum(r for r, _ in gas)
    if claimed:
        for _, peer in hubs:
            hand_starved(True, peer)
    for _, peer in gas:  # the starved: the firm room, then the hubs (the budget's rest stays for what follows)
        full = budget[False, peer]
        budget[False, peer] = firm = min(full, offers[peer].firm_mw * HANDOVER_MARGIN / n_short)
        hand_starved(False, peer)
        budget[False, peer] = full - (firm - budget[False, peer])
    for _, peer in hubs:
        hand_starved(True, peer)
    # generators' room first; then the peers' EV hubs, for what neither they nor our own hubs can cover
    short_left = [short_mw, -(1.0 - region.thr) * storage_reach_mw(region)]
    taken = pending  # (served ones handed before and not answered yet stay out)
    largest = LargestServed(region.trees)  # (one order for the round's picks, after the releases above: scowl.balance.served)

    def give(peer: str, idx: np.ndarray, left: float, to: dict[str, list[np.ndarray]] = served) -> float:
        nonlocal taken
        if not idx.size:
            return left
        to.setdefault(peer, []).append(idx)
        taken = np.concatenate([taken, idx])
        mw = float(region.trees.demand[idx].astype(np.float64).sum())
        short_left[0] -= mw
        return left - mw

    for donors, last in ((gas, False), (hubs, True)):
        for _, peer in donors:
            hand_starved(last, peer)
            left = budget[last, peer]
            if not last and on_hubs is not None:  # what our hubs carry first: offered now (the hub part), up to all
                # the room the peer advertised: it places only what fits its room after its own load and our starved
                cap = HUB_OFFER * offers[peer].room_mw - gave.get(peer, 0.0)
                if cap > 0:
                    left = give(peer, on_hubs.pick(cap, taken), left, hub_now)
            short = short_left[0] + (short_left[1] if last else 0.0)
            if short > 0 and left > 0:  # then the largest, for what we are short
                left = give(peer, largest.pick(min(left, short), taken), left)
    return _joined(starved), _joined(served), _joined(hub_now)


def _joined(parts: dict[str, list[np.ndarray]]) -> dict[str, np.ndarray]:
    return {p: np.concatenate(v) for p, v in parts.items()}
