"""The second hop of a region's hub load within a tick (issue 18: storage discharges only when no
generator in reach can cover the load). The hub part of a Handover (scowl.balance.giving) goes out
at the first pass, against room the peers advertised a tick ago, before the peers' own starved
come in: so a hub part goes to one peer whose room has gone (or is many small gaps the consumers
do not fit) while another has room, and starved consumers a short peer hands into our EV hub room
land on our hubs after our hub part was offered. The second hop: a region whose hubs may carry
load this tick (`wants_again`) says so in its Handovers; each peer answers after its sub-round
with the room it has left and its largest per-generator gaps (`fresh_room`), and the region offers
what its hubs still carry to the peers whose gaps fit each consumer (`second_offer`), first fit
decreasing, largest gap first, and one wider than every gap to the peer with the most room left (it
opens a gap: scowl.balance.opengap); the taker places what fits in the same tick and says which. Pure:
arrays in, arrays out; reads the `Region`, changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scowl.balance.giving import HANDOVER_MARGIN, HubLoad
from scowl.balance.intake import frozen
from scowl.balance.region import Region
from scowl.balance.supply import room_and_short
from scowl.model import CONTINUOUS, STORAGE

FITS = 64  # a taker's largest per-generator gaps it reports (HubTaken.fits_mw)
LOOP = 512  # the largest consumers placed gap by gap; the smaller rest by each peer's room and largest gap


@dataclass(frozen=True)
class Room:
    """What a peer has left after its sub-round, MW: the load it takes of a hub part (`room_mw`:
    its room x the margin, what its sub-round's budget is) and its largest gaps (descending)."""

    room_mw: float
    fits_mw: Sequence[float] = ()


def wants_again(region: Region) -> bool:
    """Whether a second hop may be needed this tick: the region has EV hubs that can discharge. Carrying
    no load now, with nobody starved or short last tick, is not enough to say no: a peer whose stochastic
    output falls this tick hands its starved into our hubs' room, and they land on them in our sub-round
    (whole state, 1-minute tick 1036: 24.6 MW of tracker-2's starved on tracker-3's hubs for the tick while
    tracker-0 and tracker-1 had 33 MW of room left). A second offer of nothing costs a message each way."""
    stor = region.kind == STORAGE
    return bool(stor.any()) and float(np.maximum(region.available[stor], 0.0).sum()) > 0


def fresh_room(region: Region, base: np.ndarray) -> Room:
    """A taker's room after its sub-round (x the margin) and its FITS largest per-generator gaps at
    the threshold: (1 - threshold) x what the generator can give this tick (dispatchable units as far
    as they ramp from `base`, the setpoints the fleets run at) less its load (with what the reports do
    not show: scowl.balance.unseen). EV hubs are left out:
    a giver's hub load goes to generators."""
    room = room_and_short(region)[0] * HANDOVER_MARGIN
    if room <= 0 or not len(region.kind):
        return Room(0.0)
    cont = region.kind == CONTINUOUS
    reach = np.where(cont, np.minimum(np.minimum(region.available, region.pmax), base + region.ramp), region.available)
    gap = (1.0 - region.thr) * np.maximum(reach, 0.0) - region.trees.load * (1.0 + region.drift)
    gap = gap[(region.kind != STORAGE) & (gap > 0)]
    top = np.sort(gap)[::-1][:FITS]
    return Room(room, tuple(float(g) for g in top))


def second_offer(region: Region, exclude: np.ndarray, rooms: Mapping[str, Room], unheard: Sequence[int] = ()) -> dict[str, np.ndarray]:
    """What our EV hubs still carry (none of `exclude`: taken already, handed, pending) offered to
    the peers by where each consumer fits: the largest first into the largest gap any peer reported
    (first fit decreasing over the gaps, each peer within its room); the smaller rest to the peers
    by their room, each one's largest gap left bounding what it gets; last, those wider than every
    gap (largest first) each to the peer with the most room left, if it holds it: the taker opens a
    gap for it by moving small consumers of its own (scowl.balance.opengap). Returns Trees indices by
    peer (those fitting a gap, largest first, then the wider ones); none where nothing fits."""
    peers = [p for p in sorted(rooms) if rooms[p].room_mw > 0 and rooms[p].fits_mw]
    rows = np.flatnonzero(region.kind == STORAGE)
    if not peers or not rows.size or not float(region.trees.load[rows].sum()) > 0:
        return {}
    budget = np.array([rooms[p].room_mw for p in peers])
    widest = max(max(rooms[p].fits_mw) for p in peers)
    # the largest first of those that fit some gap (a wider one would stop the pick's prefix)
    held = frozen(region, unheard)
    hub = HubLoad(region.trees, rows, held, widest)
    exclude = np.sort(np.asarray(exclude, dtype=np.int64))
    idx = hub.pick(2.0 * float(budget.sum()), exclude)  # (some fit no peer's gaps left)
    demand = region.trees.demand
    to = np.zeros(0, dtype=np.int64)
    if idx.size:
        d = demand[idx].astype(np.float64)
        order = np.lexsort((idx, -d))
        idx, d = idx[order], d[order]
        owner = np.concatenate([np.full(len(rooms[p].fits_mw), k) for k, p in enumerate(peers)])
        gap = np.concatenate([np.asarray(rooms[p].fits_mw, dtype=np.float64) for p in peers])
        to = _first_fit(d, gap, owner, budget)
    # then those wider than every gap, largest first, each to the peer with the most room left if it
    # holds it: the taker opens a gap for it by moving small consumers of its own (scowl.balance.opengap)
    wide = HubLoad(region.trees, rows, held).pick(float(budget.sum()), exclude)
    wide = wide[demand[wide] > widest][:LOOP]
    wide = wide[np.lexsort((wide, -demand[wide].astype(np.float64)))]
    wide_to = np.full(wide.size, -1)
    for i, c in enumerate(wide):
        k = int(np.argmax(budget))
        if budget[k] >= float(demand[c]):
            wide_to[i] = k
            budget[k] -= float(demand[c])
    # (each peer's fitting ones first: its budget prefix and its gaps go to them before a gap is opened)
    return {p: np.concatenate([idx[to == k], wide[wide_to == k]]) for k, p in enumerate(peers) if (to == k).any() or (wide_to == k).any()}


def unfit_mw(region: Region, gaps: Sequence[float], unheard: Sequence[int] = ()) -> float:
    """Of the load the region's EV hubs carry, the MW of whole consumers that fit none of `gaps` (every
    region's largest per-generator gaps as last reported, first fit decreasing into them): load no
    generator in reach can take as it stands (others' consumers repacked could still make room: not
    counted). The state log's check of storage as the last resort reads it beside the aggregate."""
    rows = np.flatnonzero(region.kind == STORAGE)
    load = float(region.trees.load[rows].sum()) if rows.size else 0.0
    gap = np.asarray([g for g in gaps if g > 0], dtype=np.float64)
    if load <= 0 or not gap.size:
        return max(load, 0.0)
    hub = HubLoad(region.trees, rows, frozen(region, unheard), float(gap.max()))
    idx = hub.pick(float(gap.sum()), np.zeros(0, dtype=np.int64))  # (no more can fit than the gaps hold)
    d = np.sort(region.trees.demand[idx].astype(np.float64))[::-1]
    to = _first_fit(d, gap.copy(), np.arange(gap.size), gap.copy())
    return max(load - float(d[to >= 0].sum()), 0.0)


def _first_fit(d: np.ndarray, gap: np.ndarray, owner: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Each of `d` (descending) to a gap (`gap`, of peer `owner`, each peer within `budget`): the LOOP
    largest one by one into the largest gap that takes it, the rest by each peer's room, its largest gap
    left bounding what it gets. Returns the peer of each (-1: none). Mutates `gap` and `budget`."""
    to = np.full(d.size, -1)
    head = min(d.size, LOOP)
    for i in range(head):  # first fit decreasing, the largest gap first (a few hundred consumers at most)
        ok = (gap >= d[i]) & (budget[owner] >= d[i])
        if not ok.any():
            continue
        j = int(np.argmax(np.where(ok, gap, -1.0)))
        gap[j] -= d[i]
        budget[owner[j]] -= d[i]
        to[i] = owner[j]
    peers = int(owner.max()) + 1 if owner.size else 0
    for k in np.argsort(-np.array([gap[owner == k].max() for k in range(peers)]), kind="stable"):
        free = np.flatnonzero(to[head:] < 0) + head
        free = free[d[free] <= gap[owner == k].max()]
        take = free[np.cumsum(d[free]) <= budget[k]]
        to[take] = k
        budget[k] -= float(d[take].sum())
    return to
