"""A tracker's round over its region, as a pure function: `tracker_round(region, RoundInput)`.

The tracker actor only moves messages: it gathers this tick's generator statuses, demand
reports, peers' handovers and peers' offers into a `RoundInput`, calls `tracker_round`, and
sends what the `RoundOutput` says (assignments, tree deltas, setpoints, handovers, the
region summary). Everything here is arrays in, arrays out: no sockets, no clock, no
randomness; ties are broken by index and by sender order. Like `Trees`, a `Region` is
mutated in place (it holds millions of entries) and the round reports what changed.

One round:
  1. generators' available output; dispatchable (gas) setpoints within ramp limits for the
     region's demand at the safety threshold; EV hubs (storage) discharge what gas cannot
     cover, or charge on what a surplus leaves under the margin
  2. consumers' reported demand, then consumers handed over by peers (placed where they fit,
     kept as starved where they do not: nobody is ever lost)
  3. rebalance (scowl.balance.rebalance)
  4. starved consumers handed to peers that offered room last tick; and when the region's own
     generators, ramped up, cannot carry its load next tick, served consumers too (largest
     first): they stay on their generator this tick and leave it at the next round, when the
     peer places them on generators it has ramped for them. So a region without gas draws on a
     region with gas, and its EV storage only covers what no generator in reach can; last,
     what no peer's generators can take goes to a peer whose EV hubs can discharge it
     (`storage_room_mw`), so hubs in one region serve every region as the last resort.
     Adverts are a tick old, so a starved consumer handed against room that is gone by then
     starves a tick at the peer. Four rules keep the room counted on real: a region's advert
     leaves out the served load peers promised it for its next round (`finish_round`'s
     `coming`); when the shortfalls claim all the generator room advertised, starved consumers
     go to the EV hubs first; else they go to the firm room (`firm_mw`: dispatchable units'
     ramp) before the hubs, and to the rest (stochastic output, which can fall within a tick)
     after them; and a region that lost some of the spare it advertised counts on that much
     less of each peer's generator room for its starved (the weather that took it is shared).
     Whether a peer took what it was handed is its decision; until it says so in its next
     summary, what was handed stays ours too (scowl.balance.handed). The served consumers our
     own EV hubs carry go first, in the hub part: the peer places what fits in its sub-round
     (`sub_round`) and answers at once, and we release those before our Assign (`wrap_up`);
     the rest stay on our hubs, served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from scowl.balance.arrays import gather_or, in_index_order, isin_ints, sum_at
from scowl.balance.consumer_ids import NamedIds
from scowl.balance.dispatch import ramp_room
from scowl.balance.giving import HANDOVER_MARGIN, PeerOffer, pick_handovers
from scowl.balance.handed import Answer, Handed
from scowl.balance.handover import RegionSummary, region_summary
from scowl.balance.intake import accept, frozen, on_hubs, report_demand
from scowl.balance.opengap import place_wide
from scowl.balance.region import NO_GENERATOR, ConsumerBatch, GenUpdate, Region
from scowl.balance.round import RebalanceResult
from scowl.balance.supply import apply_statuses, dispatch_and_place, merge_results, place_handed_in, reach_mw, room_and_short, storage_room
from scowl.balance.trees import ABSENT, unique_ints
from scowl.balance.unseen import observe, remember, unseen_mw
from scowl.model import CONTINUOUS, STORAGE


@dataclass(frozen=True)
class RoundInput:
    tick: int
    statuses: Sequence[GenUpdate] = ()
    reports: Sequence[ConsumerBatch] = ()
    handovers: Sequence[ConsumerBatch] = ()  # served consumers peers handed us last tick (the `later` part), sender order
    offers: Mapping[str, PeerOffer] = field(default_factory=dict)  # peer -> last tick's offer
    peers: Sequence[str] = ()  # every peer tracker (the handover of each, empty or not, goes out)
    # the peers' RegionSummaries that came since the last round, as far as our handovers go (which
    # ticks of ours each took); None: every peer took every handover (scowl.balance.handed)
    answers: Sequence[Answer] | None = None
    gone: Sequence[str] = ()  # peers that left the grid: they will not answer
    # id prefixes (ids["hi"]) of populations whose demand report did not come this tick: cut off,
    # they follow no Assign, so their consumers are frozen where they are (counted at their last demand)
    unheard: Sequence[int] = ()
    # global indices of our hub consumers a peer placed in its sub-round but said so only after we
    # had sent our round (its answer came past our deadline): they are its own, released here now
    hub_released: Sequence[np.ndarray] = ()


@dataclass(frozen=True)
class RoundOutput:
    """What the actor sends: `ids` moved to `gen_ids` (NO_GENERATOR: starved or released) to
    every population (Assign) and fleet (TreeDelta); `steer_gen_ids` to `setpoint_mw` to the
    fleets; `handovers[peer]` to each peer after `summary`; `figures` for the state log."""

    ids: NamedIds  # (5 bytes an entry: round 0 names every consumer)
    gen_ids: np.ndarray
    steer_gen_ids: np.ndarray
    setpoint_mw: np.ndarray
    handovers: dict[str, ConsumerBatch]
    summary: RegionSummary
    result: RebalanceResult
    figures: dict[str, float]
    room_mw: float = 0.0
    short_mw: float = 0.0
    storage_room_mw: float = 0.0
    firm_mw: float = 0.0
    # served consumers handed to a peer last round and let go now: off our generators in the
    # fleets' trees (the peer's own delta places them; a fleet applies our word only to ours)
    released_ids: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # the last `handed` of `ids`: starved consumers handed to a peer this tick (NO_GENERATOR here):
    # the Assign marks them so, and a population lets any other tracker's word of the tick beat it
    handed: int = 0
    later: dict[str, int] = field(default_factory=dict)  # of handovers[peer], the last ones: served, taken next tick
    hub: dict[str, int] = field(default_factory=dict)  # of handovers[peer], the `hub[peer]` before the `later` ones: on our hubs, offered now

    def sent(self) -> RoundOutput:
        """This output as an actor sends it: the round's result without its per-consumer index
        arrays (moved, moved_from, moved_to, newly_starved, restored: ~60 MB at round 0 of 2.6 M
        consumers; `figures` counts them), so they are not held while the messages are packed."""
        none = np.zeros(0, dtype=np.int64)
        return replace(self, result=replace(self.result, moved=none, moved_from=none, moved_to=none, newly_starved=none, restored=none))


@dataclass(frozen=True)
class FirstPass:
    """A tick's round before its sub-round: what `first_pass` did and what `finish_round` needs.
    `handovers[peer]` goes to each peer now: the starved consumers first (released here; the
    peer places them in this tick's sub-round), then `hub[peer]` served consumers on our EV hubs
    (the hub part, `hub_to`: the peer places what it can in its sub-round and says which; the rest
    stay on our hubs), then the last `later[peer]` ones, served consumers the peer takes over at
    its next tick's round (they stay here until then). `dropped`: consumers of peers' hub parts we
    took in and could not place in our sub-round, released again (not ours: never named)."""

    tick: int
    base: np.ndarray  # setpoints the fleets run at (the ramp's origin for the sub-round)
    res: RebalanceResult
    handed_to: dict[str, np.ndarray]
    served_to: dict[str, np.ndarray]
    released: list[np.ndarray]
    handed_in: list[np.ndarray]
    accepted: int
    declined: int
    handovers: dict[str, ConsumerBatch]
    later: dict[str, int]
    unheard: Sequence[int] = ()
    hub_to: dict[str, np.ndarray] = field(default_factory=dict)
    hub: dict[str, int] = field(default_factory=dict)
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def first_pass(region: Region, inp: RoundInput) -> FirstPass:
    """Steps 1-4 of a tracker's round (see the module's docstring): what it hands to each peer
    is known after it, so peers can place this tick's starved in their sub-round."""
    trees = region.trees
    region.warm = inp.tick == 0
    trees.round = max(trees.round, inp.tick)  # starved time counts in ticks
    # 1. generators, and the load they carried that the demand reports do not show (scowl.balance.unseen)
    apply_statuses(region, inp.statuses)
    observe(region, inp.statuses, inp.tick)
    # 2. consumers: the peers' answers to our earlier handovers (scowl.balance.handed): starved ones
    # a peer did not take (or never answered for) come back, before the reports (their population,
    # told by our Assign they are ours, reports them to us); then reports; served consumers a peer
    # took leave our generators (after the reports: theirs came to us, the taker's Assign is yet to
    # come); then the served consumers peers handed us (sender order)
    settled = region.handed_out.settle(inp.answers, inp.gone)
    back = [ConsumerBatch(i, d) for i, d in zip(settled.back_ids, settled.back_demand)]
    handed_back, accepted, declined, handed_in_mw = accept(region, back)
    for rep in inp.reports:
        report_demand(region, rep)
    released = []
    for idx in settled.release:
        released.append(region.ids_of(idx))
        region.release(idx)
    for lo in inp.hub_released:  # (a peer's late answer: they left our hubs for its generators)
        idx = region.local_of[np.asarray(lo, dtype=np.int64)]
        idx = idx[idx >= 0]
        if idx.size:
            released.append(region.ids_of(idx))
            region.release(idx)
    handed_in, acc, dec, mw = accept(region, inp.handovers)
    handed_in, accepted, declined, handed_in_mw = [*handed_back, *handed_in], accepted + acc, declined + dec, handed_in_mw + mw
    if region.prev_demand_mw >= 0:
        region.prev_demand_mw += handed_in_mw  # taken over, not grown
    # 3. dispatch and rebalance
    base = region.setpoint.copy()
    trees.frozen = frozen(region, inp.unheard)
    # EV hubs charge on spare gas only while nobody starves or runs short here or at a peer
    charge = not trees.n_unplaced and not any(o.starved_mw > 0 or o.short_mw > 0 for o in inp.offers.values())
    res = dispatch_and_place(region, inp.tick, charge=charge)
    if region.limits is not None:  # placements over a zone transfer limit taken back, tried elsewhere (scowl.balance.limits)
        res = merge_results(res, region.limits.apply(trees, region.gen_ids, region.lo[: trees.n], region.thr), trees)
    trees.frozen = None
    region.warm = False
    # 4. hand starved consumers to peers with spare capacity (what they advertised last tick)
    room, short = room_and_short(region)
    lost = max(0.0, region.advert_spare_mw - (room - short))  # the room (less the shortfall) we advertised last tick and lost since
    handed_to, served_to, hub_to = pick_handovers(region, res, inp.offers, short, lost, on_hubs(region, inp.unheard))
    handovers, later, hub = {}, {}, {}
    none = np.zeros(0, dtype=np.int64)
    for peer in inp.peers:
        now, offered, nxt = handed_to.get(peer, none), hub_to.get(peer, none), served_to.get(peer, none)
        idx = np.concatenate([now, offered, nxt])
        handovers[peer] = ConsumerBatch(region.ids_of(idx), trees.demand[idx])
        later[peer], hub[peer] = int(nxt.size), int(offered.size)
        region.handed_out.add(peer, Handed(inp.tick, region.ids_of(now), trees.demand[now], nxt))
    return FirstPass(tick=inp.tick, base=base, res=res, handed_to=handed_to, served_to=served_to, released=released,
                     handed_in=handed_in, accepted=accepted, declined=declined, handovers=handovers, later=later,
                     unheard=tuple(inp.unheard), hub_to=hub_to, hub=hub)


def finish_round(region: Region, first: FirstPass, now: Sequence[ConsumerBatch] = (), coming: Sequence[ConsumerBatch] = ()) -> RoundOutput:
    """The sub-round and step 5 without peers' hub parts: `wrap_up(sub_round(...))`."""
    return wrap_up(region, sub_round(region, first, now)[0], None, coming)


def _sub_frozen(region: Region, first: FirstPass) -> np.ndarray | None:
    """What the sub-round must not move: `frozen`, and our hub consumers offered to peers now."""
    mask = frozen(region, first.unheard)
    offered = [v for v in first.hub_to.values() if v.size]
    if offered:
        mask = np.zeros(region.trees.n, dtype=bool) if mask is None else mask.copy()
        mask[np.concatenate(offered)] = True
    return mask


def sub_round(region: Region, first: FirstPass, now: Sequence[ConsumerBatch] = (),
              hub_in: Sequence[ConsumerBatch] = ()) -> tuple[FirstPass, list[np.ndarray]]:
    """The sub-round: the starved consumers peers handed us (`now`, sender order: the handovers
    of this tick, and of the last one if they came too late for its sub-round: the ones our
    RegionSummary says we took) are placed on our room, the dispatchable units ramping for them
    from where the fleets run (never below this tick's setpoints, so nobody placed loses their
    place). Then the hub parts of this tick's handovers (`hub_in`, sender order: served on the
    giver's EV hubs): after our own load and its growth (`room_and_short`'s room, x the margin),
    a prefix of each that fits is taken in and placed the same way; one left unplaced is released
    again (`dropped`): it stays on the giver's hub, served. Returns the first pass with the
    sub-round's changes, and per hub part a mask of what we placed (the giver releases those).
    Costs O(the handed-in consumers + the region's starved), not a round."""
    trees = region.trees
    res = first.res
    handed_in_now, acc_now, dec_now, now_mw = accept(region, now)
    if region.prev_demand_mw >= 0:
        region.prev_demand_mw += now_mw  # taken over, not grown
    res = _place(region, first, res, dec_now > 0, bool(handed_in_now))
    dec_starved = dec_now
    taken: list[np.ndarray] = [np.zeros(len(b.ids), dtype=bool) for b in hub_in]
    dropped = np.zeros(0, dtype=np.int64)
    budget = room_and_short(region)[0] * HANDOVER_MARGIN if hub_in else 0.0
    parts = []
    for k, b in enumerate(hub_in):
        demand = np.asarray(b.demand_mw, dtype=np.float64)
        fresh = region.local_of[region.global_index(b.ids)] < 0 if len(b.ids) else np.zeros(0, dtype=bool)
        fits = fresh & (np.cumsum(np.where(fresh, demand, 0.0)) <= budget)
        pos = np.flatnonzero(fits)
        if pos.size:
            _, d, idx = region.accept_handover(b.ids[pos], np.asarray(b.demand_mw)[pos])
            parts.append((k, pos, idx))
            budget -= float(demand[pos].sum())
            dec_now += d
    if parts:
        res = _place(region, first, res, dec_now > 0, True)
        # those no gap of ours held: on a gap opened by moving small consumers of ours (scowl.balance.opengap)
        res = place_wide(region, np.concatenate([idx for _, _, idx in parts]), _sub_frozen(region, first), res, first.base)
        for k, pos, idx in parts:
            placed = trees.assignment[idx] >= 0
            taken[k][pos[placed]] = True
            handed_in_now.append(idx[placed])
            acc_now += int(placed.sum())
            dropped = np.concatenate([dropped, idx[~placed]])
            if region.prev_demand_mw >= 0:
                region.prev_demand_mw += float(trees.demand[idx[placed]].astype(np.float64).sum())
        if dropped.size:
            region.release(dropped)
    declined = first.declined + dec_starved + sum(int(np.count_nonzero(~t)) for t in taken)  # (hub parts: not placed)
    out = replace(first, res=res, handed_in=[*first.handed_in, *handed_in_now], accepted=first.accepted + acc_now,
                  declined=declined, dropped=np.concatenate([first.dropped, dropped]) if first.dropped.size else dropped)
    return out, taken


def _place(region: Region, first: FirstPass, res: RebalanceResult, starved: bool, limits: bool) -> RebalanceResult:
    """Place the starved on the room our units can still ramp into (scowl.balance.supply.place_handed_in),
    then take back placements over a zone transfer limit."""
    trees = region.trees
    if starved:
        trees.frozen = _sub_frozen(region, first)
        more = place_handed_in(region, first.base, first.tick)
        trees.frozen = None
        if more is not None:
            res = merge_results(res, more, trees)
    if limits and region.limits is not None:
        res = merge_results(res, region.limits.apply(trees, region.gen_ids, region.lo[: trees.n], region.thr), trees)
    return res


def wrap_up(region: Region, first: FirstPass, hub_taken: Mapping[str, np.ndarray] | None = None,
            coming: Sequence[ConsumerBatch] = ()) -> RoundOutput:
    """Step 5, what changed, after the sub-round (`sub_round`). The starved we handed out go last
    (`RoundOutput.handed`): a taker that took them names them in its own Assign, whose word beats
    ours; one that did not leaves ours (starved, with us), and they come back to us at our next
    round (scowl.balance.handed). So do the consumers of our hub parts a peer placed
    (`hub_taken[peer]`: a mask over `first.hub_to[peer]`): released here now, their hub's load
    falls by them. `coming`: the served consumers peers handed us this tick to take at our next
    round (the `later` part): our advert leaves their demand out, or a peer would hand us its
    starved against room they fill first."""
    trees = region.trees
    res = first.res
    handed_in, accepted, declined = first.handed_in, first.accepted, first.declined
    handed_to, served_to = first.handed_to, first.served_to
    gone = []
    for peer, mask in (hub_taken or {}).items():
        offered = first.hub_to.get(peer)
        if offered is not None and mask.shape == offered.shape and mask.any():
            idx = offered[mask]
            idx = idx[region.local_of[region.lo[idx]] == idx]  # (still ours)
            region.release(idx)
            gone.append(idx)
    hub_moved = int(sum(g.size for g in gone))
    hub_moved_mw = sum(float(trees.demand[g].astype(np.float64).sum()) for g in gone)
    parts = [*handed_to.values(), *gone]
    handed = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    leaving = np.concatenate(list(served_to.values())) if served_to else np.zeros(0, dtype=np.int64)
    # 5. what changed
    changed = res.moved
    if first.dropped.size:  # peers' hub consumers we let go: never ours, never named
        keep = ~isin_ints(changed, np.sort(first.dropped))
        res = replace(res, moved=changed[keep], moved_from=res.moved_from[keep], moved_to=res.moved_to[keep])
        changed = res.moved
    if len(region.gen_ids):  # (a block at a time: round 0 names every consumer, so no more arrays that long than needed)
        gen = gather_or(region.gen_ids, res.moved_to, NO_GENERATOR)
    else:
        gen = np.where(res.moved_to >= 0, 0, NO_GENERATOR)
    # accepted or kept starved: their new tracker is us; and those we hold that a population
    # back from a partition believes elsewhere (region.reannounce): where they are
    for idx in [*handed_in, region.take_announced()]:
        if not idx.size:
            continue
        new = unique_ints(idx)
        new = new[~isin_ints(new, changed)]  # np.setdiff1d, without numpy 2's slow np.unique
        changed = np.concatenate([changed, new])
        gen = np.concatenate([gen, region.generator_of(new)])
    # one entry per consumer, the last word wins
    if changed is not res.moved or (changed.size > 1 and not (changed[1:] > changed[:-1]).all()):
        changed, gen = in_index_order(changed, gen)  # (sorted, the last of each: np.unique's, ~12 B an entry not ~50)
    # (else the round's own moves alone, sorted and unique: as they are - a first round moves millions)
    if handed.size:  # one handed out and taken back in the sub-round (a peer's hub part) is ours again: named there only
        handed = handed[region.local_of[region.lo[handed]] < 0]  # (a fleet follows a tracker's last word, a population its placing one)
    if handed.size:  # the handed out last, starved here (a consumer starved and then handed over is named once)
        body = ~isin_ints(changed, handed)
        changed = np.concatenate([changed[body], handed])
        gen = np.concatenate([gen[body], np.full(handed.size, NO_GENERATOR)])
    region.moved_total += int(res.moved.size)
    cont, stor = region.kind == CONTINUOUS, region.kind == STORAGE
    steer = cont | stor
    after = region_summary(trees, region.thr)
    room, short = room_and_short(region)
    leaving_mw = float(trees.demand[leaving].astype(np.float64).sum())
    coming_mw = sum(float(np.asarray(b.demand_mw, dtype=np.float64).sum()) for b in coming)
    spare = room - short + leaving_mw - coming_mw  # what leaves next round is no longer ours to carry; what comes is
    room, short, stor_room = max(spare, 0.0), max(-spare, 0.0), storage_room(region, spare)
    firm = min(room, (1.0 - region.thr) * ramp_room(region.setpoint[cont], region.available[cont], region.pmax[cont], region.ramp[cont]))
    region.advert_spare_mw = spare
    region.prev_demand_mw = after.load_mw + after.starved_mw - leaving_mw
    figures = {
        "moved": res.moved.size, "newly_starved": res.newly_starved.size,
        "restored": res.restored.size, "shed": res.shed, "overloaded": res.overloaded,
        "starved": after.starved_count, "starved_mw": after.starved_mw, "capacity_mw": after.capacity_mw,
        "load_mw": after.load_mw, "headroom_mw": after.headroom_mw, "gas_setpoint_mw": float(region.setpoint[cont].sum()),
        "storage_setpoint_mw": float(region.setpoint[stor].sum()),
        "handed_out": handed.size, "handed_out_served": leaving.size, "handed_out_served_mw": leaving_mw,
        "hub_offered": sum(first.hub.values()), "hub_moved": hub_moved, "hub_moved_mw": hub_moved_mw, **_hub_sources(region, first),
        "room_mw": room, "short_mw": short, "storage_room_mw": stor_room, "firm_mw": firm, "reach_mw": reach_mw(region), "unseen_mw": unseen_mw(region), "handed_in_accepted": accepted, "handed_in_declined": declined,
        "generators": len(region.gen_ids), "consumers": int(np.count_nonzero(trees.assignment != ABSENT)),
        **(region.limits.figures if region.limits is not None else {}),
        **region.view(),
    }
    remember(region, first.tick)
    return RoundOutput(ids=region.ids.named(changed), gen_ids=gen.astype(np.int32, copy=False), steer_gen_ids=region.gen_ids[steer],
                       setpoint_mw=region.setpoint[steer].copy(), handovers=first.handovers, summary=after, result=res, figures=figures,
                       room_mw=room, short_mw=short, storage_room_mw=stor_room, firm_mw=firm,
                       released_ids=np.concatenate(first.released) if first.released else region.ids_of(np.zeros(0, dtype=np.int64)),
                       handed=int(handed.size), later=first.later, hub=first.hub)


def _hub_sources(region: Region, first: FirstPass) -> dict[str, float]:
    """Where the load our EV hubs carry after the round comes from (the state log's check of why storage
    discharged beside generator spare): consumers of our hub parts a peer did not place, and starved
    consumers peers handed us (one of them we offered on is counted declined); the rest was offered to no
    peer. O(those consumers), not the region."""
    trees = region.trees
    stor = region.kind == STORAGE

    def on_hubs(parts: Sequence[np.ndarray]) -> np.ndarray:
        idx = np.asarray(parts[0], dtype=np.int64) if len(parts) == 1 else \
            np.concatenate([np.asarray(p, dtype=np.int64) for p in parts]) if parts else np.zeros(0, dtype=np.int64)
        return idx[gather_or(stor, trees.assignment[idx], False)] if stor.size else idx[:0]  # (gather_or: no copy as long)

    offered = np.sort(on_hubs(list(first.hub_to.values())))
    handed = on_hubs(first.handed_in)
    handed = handed[~isin_ints(handed, offered)]
    return {"hub_load_mw": float(trees.load[stor].sum()) if stor.any() else 0.0,
            "hub_declined_mw": sum_at(trees.demand, offered), "hub_handed_in_mw": sum_at(trees.demand, handed)}


def tracker_round(region: Region, inp: RoundInput, now: Sequence[ConsumerBatch] = (), coming: Sequence[ConsumerBatch] = ()) -> RoundOutput:
    """One round of a tracker over its region (see the module's docstring): `first_pass`, then
    `finish_round` with the starved consumers peers handed us this tick (`now`) and the served
    ones they hand us for our next round (`coming`)."""
    return finish_round(region, first_pass(region, inp), now, coming)
