"""A tracker's side of its peers' handovers (mixed into scowl.actors.tracker.Tracker): which
Handovers its sub-round takes, and the answer its RegionSummaries give each giver. The taker
alone decides (scowl.balance.handed): a Handover of tick t is taken in the sub-round of t, or
of t+1 when it came too late for t's, never later; every RegionSummary to the giver lists the
ticks of its Handovers taken within the last ANSWER_WINDOW ticks, so one lost summary loses no
answer. A Handover's hub part (consumers served on the giver's EV hubs) is placed in the sub-round
of its own tick only, and answered at once (HubTaken): the giver waits for it before its Assign
and releases what we placed; an answer that comes after the giver's deadline still counts, at
the giver's next round. Our RegionSummaries repeat those answers (`hub_took`, the last
HUB_ANSWER_WINDOW ticks), so a lost HubTaken leaves nobody held by both of us."""

from __future__ import annotations

import logging
from collections.abc import Callable
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

    def _take_handovers(self, tick: int) -> list[balance.ConsumerBatch]:
        """The starved consumers peers handed us that the sub-round of `tick` takes (sender order;
        one that came too late for its own tick's sub-round first); their served ones go to
        `_later`, ours at the next round."""
        now: list[balance.ConsumerBatch] = []
        self._hub_in = []
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
            if h.hub and h.tick == tick:
                self._hub_in.append((sender, balance.ConsumerBatch(ids[s:k], demand[s:k])))
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
        for (sender, part), mask in zip(self._hub_in, taken):
            answer = wire.HubTaken(tick, int(mask.size), np.packbits(mask).tobytes())
            if mask.any():  # (an answer placing none needs no repeat: without one the giver keeps them)
                self._hub_said.setdefault(sender, []).append((answer.tick, answer.n, answer.taken))
                self._hub_placed.setdefault(sender, {})[tick] = self.region.global_index(part.ids[mask])
            self.send(sender, answer)
        self._hub_in = []

    def _hub_missing(self, first: Any) -> list[str]:
        """The peers we offered a hub part this tick whose answer is not in yet."""
        said = self._hub_answers.get(first.tick, {})
        return [p for p, n in first.hub.items() if n and p not in said]

    @on(wire.HubTaken)
    def on_hub_taken(self, msg: wire.HubTaken, env: wire.Envelope):
        self.heard(env.sender)
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
            offered_n = first.hub.get(peer, 0) if first is not None and first.tick == tick else 0
            if not offered_n or n != offered_n:
                return None if repeat else f"{n} bits for a hub part of {offered_n} consumers"
            mask = _unpack(taken, n)
            said = self._hub_answers.setdefault(tick, {})
            if peer in said:
                return None if np.array_equal(said[peer], mask) else "a second, different answer"
            said[peer] = mask
            self._maybe_wrap(tick)
            return None
        offered = self._hub_offers.get(tick, {}).get(peer)
        if offered is None or offered.size != n:
            return None if repeat else f"{n} bits answer no unanswered hub part of ours"
        del self._hub_offers[tick][peer]
        mask = _unpack(taken, n)
        if mask.any():  # after our deadline: they are the peer's now (it names them again: our summary did not list the tick)
            self._hub_late.append(offered[mask])
            self.hub_late += int(mask.sum())
            log.warning("%s: %s placed %d of our hub consumers of tick %d after we had sent: released next round", self.name, peer, int(mask.sum()), tick)
        return None

    def _hub_answered(self, first: Any, answers: dict[str, np.ndarray]) -> None:
        """The peers whose answers about our hub parts of this tick our Assign follows: our summaries say so."""
        for peer in answers:
            if first.hub.get(peer):
                self._hub_heard.setdefault(peer, []).append(first.tick)

    def _hub_unanswered(self, first: Any, missing: list[str]) -> None:
        """Our deadline passed without these peers' answers: what we offered them stays on our hubs,
        and is released at our next round if an answer still comes (HUB_ANSWER_WINDOW ticks back at most)."""
        self._hub_offers = {t: o for t, o in self._hub_offers.items() if t >= first.tick - balance.HUB_ANSWER_WINDOW}
        if missing:
            self._hub_offers[first.tick] = {p: self.region.lo[first.hub_to[p]].astype(np.int64) for p in missing}


def _unpack(taken: bytes, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(taken, dtype=np.uint8), count=n).astype(bool)


def _recent(by_peer: dict[str, list[T]], peer: str, tick: int, tick_of: Callable[[T], int]) -> list[T]:
    """`peer`'s entries of the last HUB_ANSWER_WINDOW ticks before `tick` (older ones dropped for good)."""
    kept = [e for e in by_peer.get(peer, []) if tick_of(e) >= tick - balance.HUB_ANSWER_WINDOW]
    by_peer[peer] = kept
    return kept
