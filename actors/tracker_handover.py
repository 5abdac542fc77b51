"""A tracker's side of its peers' handovers (mixed into scowl.actors.tracker.Tracker): which
Handovers its sub-round takes, and the answer its RegionSummaries give each giver. The taker
alone decides (scowl.balance.handed): a Handover of tick t is taken in the sub-round of t, or
of t+1 when it came too late for t's, never later; every RegionSummary to the giver lists the
ticks of its Handovers taken within the last ANSWER_WINDOW ticks, so one lost summary loses no
answer. A Handover's hub part (consumers served on the giver's EV hubs) is placed in the sub-round
of its own tick only, and answered at once (HubTaken): the giver waits for it before its Assign
and releases what we placed; an answer that comes after the giver's deadline still counts, at
the giver's next round. Our RegionSummaries repeat those answers (`hub_took`, the last
HUB_ANSWER_WINDOW ticks), so a lost HubTaken leaves nobody held by both of us.

The second hop (scowl.balance.hubhop): a giver whose hubs may carry load this tick says so in its
Handovers (`again` 1); every peer answers it after its sub-round, with or without a hub part, with
the room it has left and its largest gaps, and waits for the giver's second offer (a Handover with
`again` 2, empty when nothing fits) before its Assign; the giver, once every first answer is in,
offers what its hubs still carry where it fits, and waits for those answers (the bits of both
offers) before its own Assign. A deadline at each wait: a giver whose first answers are not all in
sends empty second offers; what a second offer's late answer placed is released at the giver's next
round, as a late first answer's is."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import numpy as np

from scowl import balance, wire
from scowl.errors import Refused
from scowl.runtime import on

log = logging.getLogger("scowl.tracker")
T = TypeVar("T")


class HandoverTaking:
    # provided by the Tracker
    name: str
    handovers: Any
    region: Any
    send: Any
    heard: Any
    _sub: Any
    _first: Any
    _maybe_wrap: Any
    _first_s: float
    unreachable: set[str]

    def _init_handovers(self) -> None:
        self._later: list[balance.ConsumerBatch] = []  # served consumers peers handed us, ours at the next round
        self._hub_in: list[tuple[str, balance.ConsumerBatch]] = []  # this tick's hub parts (sender, consumers), our sub-round places what fits
        # tick -> peer -> mask over the hub part we offered it: what it placed (an answer may come before our own sub-round)
        self._hub_answers: dict[int, dict[str, np.ndarray]] = {}
        self._wrapped = -1  # the last tick whose round went out
        self._hub_offers: dict[int, dict[str, np.ndarray]] = {}  # tick -> peer -> global indices offered, answers not in by our deadline
        self._hub_late: list[np.ndarray] = []  # global indices of our hub consumers peers placed, said too late: released next round
        self.hub_late = 0
        self.late_handovers = 0  # consumers in peers' Handovers that came after our sub-round of the tick after theirs: not taken
        self._took: dict[str, list[int]] = {}  # the ticks of each peer's Handovers we took, the last ANSWER_WINDOW
        self._hub_said: dict[str, list[tuple[int, int, bytes]]] = {}  # peer -> our answers placing any of its hub parts, recent
        self._hub_placed: dict[str, dict[int, np.ndarray]] = {}  # giver -> tick -> global indices of its hub part we placed, recent
        self._hub_heard_by: set[tuple[str, int]] = set()  # (giver, tick): its summary says it applied our answer in time
        self._hub_heard: dict[str, list[int]] = {}  # peer -> ticks of its answers about our hub parts we applied in time, recent
        self._again_to: list[str] = []  # the peers our Handovers of this tick told to wait for our second offer (again 1)
        self._rooms: dict[str, balance.Room] = {}  # their room left after their sub-round (their first answers)
        self._hop2: dict[str, int] | None = None  # the sizes of our second offers of this tick (None: not sent yet)
        self._hop2_said: set[str] = set()  # peers whose answer to our second offer is in
        self._again_from: set[str] = set()  # givers whose Handover of this tick told us to wait for their second offer
        self._again_heard: dict[int, set[str]] = {}  # tick -> givers whose second offer came
        self._hub_mask1: dict[str, np.ndarray] = {}  # our answer to each giver's first offer of this tick

    def _take_handovers(self, tick: int) -> list[balance.ConsumerBatch]:
        """The starved consumers peers handed us that the sub-round of `tick` takes (sender order;
        one that came too late for its own tick's sub-round first); their served ones go to
        `_later`, ours at the next round."""
        now: list[balance.ConsumerBatch] = []
        self._hub_in = []
        self._again_from, self._hub_mask1 = set(), {}
        self._again_heard = {t: g for t, g in self._again_heard.items() if t >= tick}
        took = self._took
        for peer in took:
            took[peer] = [t for t in took[peer] if t >= tick - balance.ANSWER_WINDOW]
        for sender, h in self.handovers.take(tick):
            if h.tick < tick - 1:  # too late: our summary of its tick + 1 did not list it, the giver keeps them
                self.late_handovers += h.n
                log.warning("%s: tick %d: a handover of tick %d came too late: its %d consumers stay with %s", self.name, tick, h.tick, h.n, sender)
                continue
            took.setdefault(sender, []).append(h.tick)
            ids, demand, k = h.column("ids"), h.column("demand_mw"), h.n - h.later
            s = k - h.hub  # the starved part; the hub part only in our sub-round of its own tick (its giver waits no longer)
            now.append(balance.ConsumerBatch(ids[:s], demand[:s]))
            if (h.hub or h.again == 1) and h.tick == tick:  # (told to wait for a second offer: answered even without a hub part)
                self._hub_in.append((sender, balance.ConsumerBatch(ids[s:k], demand[s:k])))
                if h.again == 1:
                    self._again_from.add(sender)
            if h.later:
                self._later.append(balance.ConsumerBatch(ids[k:], demand[k:]))
        return now

    def _took_of(self, peer: str) -> list[int]:
        """What our RegionSummary tells `peer`: the ticks of its Handovers we took, recently."""
        return self._took.get(peer, [])

    def _hub_took_of(self, peer: str, tick: int) -> list[tuple[int, int, bytes]]:
        """What our RegionSummary of `tick` repeats to `peer`: our answers of the last HUB_ANSWER_WINDOW
        ticks that placed any of its hub parts (one lost on its way must not leave them held by both of us)."""
        return _recent(self._hub_said, peer, tick, lambda a: a[0])

    def _hub_heard_of(self, peer: str, tick: int) -> list[int]:
        """What our RegionSummary of `tick` tells `peer`: the ticks of its answers about our hub parts we
        applied before our Assign (one not listed in our summary of its tick: it names those consumers again)."""
        return _recent(self._hub_heard, peer, tick, lambda t: t)

    def _rename_unheard(self, tick: int) -> None:
        """Before our round of `tick`: the consumers we placed from a giver's hub part of an earlier tick
        whose answer its summary of that tick did not say it applied in time (it came late or was lost, or
        that summary was): our Assign and TreeDelta name them again, where they are now (if still ours),
        once, so every population and fleet follows us, not the giver's Assign that named them on its hub."""
        for giver, placed in self._hub_placed.items():
            for t in [t for t in placed if t < tick]:
                idx = placed.pop(t)
                if (giver, t) not in self._hub_heard_by:
                    loc = self.region.local_of[idx]
                    self.region.announced = np.concatenate([self.region.announced, loc[loc >= 0].astype(np.int64)])
        self._hub_heard_by = {(g, t) for g, t in self._hub_heard_by if t >= tick - 1}

    def _hub_confirmed(self, giver: str, tick: int, heard: list[int]) -> None:
        """`giver`'s summary of `tick`: whether it applied our answer about its hub part of `tick` in time."""
        if tick in heard:
            self._hub_heard_by.add((giver, tick))

    def _answer_hubs(self, tick: int, taken: list[np.ndarray]) -> None:
        """Each giver of a hub part this tick: which of it our sub-round placed (it waits for this)."""
        # (none while a fleet or peer is cut off from us: a fleet that hears no setpoint does not ramp for what we would take)
        room = balance.fresh_room(self.region, self._sub.base) if self._again_from and self._sub is not None and not self.unreachable else None
        for (sender, part), mask in zip(self._hub_in, taken):
            fresh = room if room is not None and sender in self._again_from else balance.Room(0.0)
            answer = wire.HubTaken(tick, int(mask.size), np.packbits(mask).tobytes(), room_mw=fresh.room_mw, fits_mw=list(fresh.fits_mw))
            self._hub_mask1[sender] = mask
            if mask.any():  # (an answer placing none needs no repeat: without one the giver keeps them)
                self._hub_said.setdefault(sender, []).append((answer.tick, answer.n, answer.taken))
                self._hub_placed.setdefault(sender, {})[tick] = self.region.global_index(part.ids[mask])
            self.send(sender, answer)
        self._hub_in = []

    def _hub_missing(self, first: Any) -> list[str]:
        """The peers we offered a hub part this tick (or told to wait for our second offer) whose first answer is not in yet."""
        said = self._hub_answers.get(first.tick, {})
        return [p for p, n in first.hub.items() if n and p not in said] + [p for p in self._again_to if not first.hub.get(p) and p not in said]

    def _hop2_missing(self) -> list[str]:
        """The peers we made a second offer this tick whose answer to it is not in yet."""
        return [p for p, n in (self._hop2 or {}).items() if n and p not in self._hop2_said]

    def _hop2_waits(self) -> list[str]:
        """After our second offers: the peers whose answer to it, or whose first answer, is not in yet (a
        first answer lost on its way: the peer's RegionSummary of the tick, sent once our empty second
        offer let it go, repeats it or says it placed none, before our Assign)."""
        if self._hop2 is None or self._sub is None:
            return []
        return self._hop2_missing() + self._hub_missing(self._sub)

    def _summary_says(self, peer: str, tick: int) -> None:
        """`peer`'s RegionSummary of `tick` came while we wait for its first answer (after its repeats,
        `hub_took`, were applied): it placed none of our hub part of `tick`, or the repeat would be there.
        And from a giver whose second offer we wait for: its round went out, its offer will not come in time."""
        first = self._sub
        if first is None or first.tick != tick:
            return
        if peer in self._again_from and peer not in self._again_heard.get(tick, set()):
            self._again_heard.setdefault(tick, set()).add(peer)
            self._maybe_wrap(tick)
        if self._hop2 is None or self._sub is None:
            return
        said = self._hub_answers.setdefault(tick, {})
        if peer not in said and (first.hub.get(peer) or peer in self._again_to):
            said[peer] = np.zeros(first.hub.get(peer, 0), dtype=bool)
            self._maybe_wrap(tick)

    def _again_wait(self, tick: int) -> list[str]:
        """The givers whose second offer of `tick` we wait for (their Handover said again 1)."""
        heard = self._again_heard.get(tick, set())
        return [g for g in sorted(self._again_from) if g not in heard]

    def _send_second(self, tick: int) -> None:
        """Our second offer of `tick` to every peer we told to wait for it (scowl.balance.hubhop): what
        our hubs still carry, where each peer's gaps fit it; empty ones too (they wait for it), all empty
        when some first answer never came (then nobody's room is known to be current)."""
        first = self._sub
        assert first is not None
        self._hop2 = {}
        said = self._hub_answers.get(tick, {})
        offers: dict[str, np.ndarray] = {}
        none = np.zeros(0, dtype=np.int64)
        if not self._hub_missing(first):
            parts = [first.hub_to[p][m] for p, m in said.items() if m.size and p in first.hub_to and m.size == first.hub_to[p].size]
            parts += [self.region.handed_out.served(), *first.served_to.values()]  # (taken, or handed: not ours to offer)
            exclude = np.concatenate([np.asarray(x, dtype=np.int64) for x in parts])
            offers = balance.second_offer(self.region, exclude, {p: r for p, r in self._rooms.items() if p in said}, first.unheard)
        hub_to, hub = dict(first.hub_to), dict(first.hub)
        for peer in self._again_to:
            idx = offers.get(peer, none)
            self._hop2[peer] = int(idx.size)
            self.send(peer, wire.Handover.pack(tick=tick, ids=self.region.ids_of(idx), demand_mw=self.region.trees.demand[idx], hub=int(idx.size), again=2))
            if idx.size:  # (the second offer's consumers follow the first's: one answer, of both)
                hub_to[peer] = np.concatenate([hub_to.get(peer, none), idx])
                hub[peer] = hub.get(peer, 0) + int(idx.size)
        self._sub = replace(first, hub_to=hub_to, hub=hub)

    def _hub_unfit(self, first: Any) -> dict[str, float]:
        """The state log's figure beside our hubs' load after a second hop: the MW on them of whole consumers
        that fit none of the gaps every peer last reported this tick, nor ours (scowl.balance.hubhop.unfit_mw);
        none without a second hop (the gaps are unknown)."""
        if not self._again_to or self._hop2 is None:
            return {}
        gaps = [g for r in self._rooms.values() for g in r.fits_mw] + list(balance.fresh_room(self.region, first.base).fits_mw)
        return {"hub_unfit_mw": balance.unfit_mw(self.region, gaps, first.unheard)}

    def _second_in(self, sender: str, msg: wire.Handover) -> None:
        """A giver's second offer of its hub load this tick (`again` 2): placed at once where it fits
        (scowl.balance.sub_round, after our sub-round), answered with the bits of both its offers.
        One that comes after our Assign of its tick, or that nobody announced, is not placed: its giver
        keeps them (its deadline)."""
        tick = msg.tick
        self._again_heard.setdefault(tick, set()).add(sender)
        first = self._sub
        if msg.n and tick == self._wrapped and sender in self._again_from and sender in self._hub_mask1:  # (our round went out: none placed)
            whole = np.concatenate([self._hub_mask1[sender], np.zeros(msg.n, dtype=bool)])
            self.send(sender, wire.HubTaken(tick, int(whole.size), np.packbits(whole).tobytes()))
        if msg.n and first is not None and first.tick == tick and sender in self._again_from:
            t0 = time.perf_counter()
            ids, demand = msg.column("ids"), msg.column("demand_mw")
            self._sub, taken = balance.sub_round(self.region, first, (), [balance.ConsumerBatch(ids, demand)])
            self._first_s += time.perf_counter() - t0
            mask = taken[0]
            whole = np.concatenate([self._hub_mask1.get(sender, np.zeros(0, dtype=bool)), mask])
            left = balance.fresh_room(self.region, self._sub.base) if not self.unreachable else balance.Room(0.0)  # (what it has left: the giver's check)
            answer = wire.HubTaken(tick, int(whole.size), np.packbits(whole).tobytes(), room_mw=left.room_mw, fits_mw=list(left.fits_mw))
            if mask.any():
                self._hub_said[sender] = [*(a for a in self._hub_said.get(sender, []) if a[0] != tick), (tick, answer.n, answer.taken)]
                placed = self._hub_placed.setdefault(sender, {})
                new = self.region.global_index(ids[mask])
                placed[tick] = np.concatenate([placed[tick], new]) if tick in placed else new
            self.send(sender, answer)
        self._maybe_wrap(tick)

    @on(wire.HubTaken)
    def on_hub_taken(self, msg: wire.HubTaken, env: wire.Envelope):
        self.heard(env.sender)
        first = self._sub if self._sub is not None else self._first
        if env.sender in self._again_to and first is not None and first.tick == msg.tick and (self._hop2 is None or msg.fits_mw):
            self._rooms[env.sender] = balance.Room(msg.room_mw, tuple(msg.fits_mw))  # (the room it has left: the newest)
        why = self._hub_answer(env.sender, msg.tick, msg.n, msg.taken)
        if why is not None:  # rejected and counted; the real answer (or its repeat) still counts
            raise Refused("invalid_value", f"hub-taken of tick {msg.tick}: {why}")

    def _hub_answer(self, peer: str, tick: int, n: int, taken: bytes, repeat: bool = False) -> str | None:
        """`peer`'s answer about our hub part of `tick` (a HubTaken, or `repeat`ed in its RegionSummary:
        the same answer again changes nothing). Returns what is wrong with one that answers no hub
        part we offered it (a wrong size, a tick or peer we offered nothing, a second different answer),
        checked before its bitmap is unpacked; a repeat that finds no open offer is simply not needed."""
        if tick > self._wrapped:  # (before or after our own sub-round: it waits for it)
            first = self._sub if self._sub is not None else self._first
            current = first is not None and first.tick == tick
            offered_n = first.hub.get(peer, 0) if current else 0
            said = self._hub_answers.setdefault(tick, {})
            if current and not offered_n and not n and not repeat and peer in self._again_to and peer not in said:
                said[peer] = np.zeros(0, dtype=bool)  # (told to wait for our second offer: its first answer, its room)
                self._maybe_wrap(tick)
                return None
            if not offered_n or n != offered_n:
                return None if repeat else f"{n} bits for a hub part of {offered_n} consumers"
            mask = _unpack(taken, n)
            if peer in said:
                old, second = said[peer], (self._hop2 or {}).get(peer, 0)
                if np.array_equal(old, mask):
                    return None
                if not (second and old.size + second == n and np.array_equal(mask[: old.size], old)):
                    return "a second, different answer"
                self._hop2_said.add(peer)  # (its answer to our second offer: both offers' bits)
            said[peer] = mask
            self._maybe_wrap(tick)
            return None
        offered = self._hub_offers.get(tick, {}).get(peer)
        if offered is None or offered.size != n:
            return None if repeat else f"{n} bits answer no unanswered hub part of ours"
        del self._hub_offers[tick][peer]
        mask = _unpack(taken, n)
        late = offered[mask]
        late = late[late >= 0]  # (a second offer's answer: the first offer's part was applied in time, marked -1)
        if late.size:  # after our deadline: they are the peer's now (it names them again: our summary did not list the tick)
            self._hub_late.append(late)
            self.hub_late += int(mask.sum())
            log.warning("%s: %s placed %d of our hub consumers of tick %d after we had sent: released next round", self.name, peer, int(mask.sum()), tick)
        return None

    def _hub_answered(self, first: Any, answers: dict[str, np.ndarray], partly: list[str]) -> None:
        """The peers whose answers about our hub parts of this tick our Assign follows (all of them:
        not those whose answer to our second offer is missing, `partly`): our summaries say so."""
        for peer in answers:
            if first.hub.get(peer) and peer not in partly:
                self._hub_heard.setdefault(peer, []).append(first.tick)

    def _hub_unanswered(self, first: Any, missing: list[str], answers: dict[str, np.ndarray], partly: list[str]) -> None:
        """Our deadline passed without these peers' answers (`partly`: the answer to our second offer):
        what we offered them stays on our hubs, and is released at our next round if an answer still
        comes (HUB_ANSWER_WINDOW ticks back at most); the part of one the first answer placed goes now
        (its mask padded: the second offer's part stays), and is marked -1 for a late answer."""
        self._hub_offers = {t: o for t, o in self._hub_offers.items() if t >= first.tick - balance.HUB_ANSWER_WINDOW}
        offers = {p: self.region.lo[first.hub_to[p]].astype(np.int64) for p in [*missing, *partly] if first.hub.get(p)}
        for p in partly:
            n1 = answers[p].size
            offers[p][:n1] = -1
            answers[p] = np.concatenate([answers[p], np.zeros(first.hub_to[p].size - n1, dtype=bool)])
        if offers:
            self._hub_offers[first.tick] = offers


def _unpack(taken: bytes, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(taken, dtype=np.uint8), count=n).astype(bool)


def _recent(by_peer: dict[str, list[T]], peer: str, tick: int, tick_of: Callable[[T], int]) -> list[T]:
    """`peer`'s entries of the last HUB_ANSWER_WINDOW ticks before `tick` (older ones dropped for good)."""
    kept = [e for e in by_peer.get(peer, []) if tick_of(e) >= tick - balance.HUB_ANSWER_WINDOW]
    by_peer[peer] = kept
    return kept
