"""A tracker's registrations (mixed into scowl.actors.tracker.Tracker): fleets' generators and
populations' consumers, checked when they come and applied at the first tick in sender order;
fleets that join or leave during the day, and ones that rejoin after a restart (they get their
trees back)."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from scowl import balance, wire
from scowl.errors import Refused
from scowl.runtime import on
from scowl.security.policy import generator_claim

log = logging.getLogger("scowl.tracker")


def registered_twice(lo: np.ndarray, local_of: np.ndarray, claimed: np.ndarray) -> int:
    """How many of a registration's global indices are held or claimed already, or named twice in it:
    a repeat inside one message would give one consumer two entries in the trees (review3 R3)."""
    before = int(np.count_nonzero((local_of[lo] >= 0) | claimed[lo]))
    ordered = np.sort(lo)
    return before + int(np.count_nonzero(ordered[1:] == ordered[:-1]))


class Registration:
    # provided by the Tracker
    name: str
    region: Any
    guards: Any
    tick_now: int
    gen_status: Any
    reports: Any
    handovers: Any
    summaries: Any
    peer_trackers: list[str]
    send: Any
    _gone_trackers: set[str]
    _gen_sender: dict[str, frozenset[int]]
    _planned_fleets: set[str]
    _plan_owner: dict[int, str]
    _joining: dict[str, wire.GeneratorsRegister]
    _pending_gens: dict[str, wire.GeneratorsRegister]
    _pending_cons: dict[str, list[wire.ConsumersRegister]]
    _claimed: np.ndarray
    _population_hi: dict[str, int]
    retired: int
    rehomed: int
    rejoined: int

    # ---------------------------------------------------------------- registration

    # Registrations are checked when they come but applied at the first tick, in sender order:
    # the rows of the trees (hence every tie the policy breaks by index) must not depend on
    # which fleet or population happened to register first.

    @on(wire.GeneratorsRegister)
    def on_generators(self, msg: wire.GeneratorsRegister, env: wire.Envelope):
        ids = [int(g) for g in msg.column("gen_ids")]
        before = self._gen_sender.get(env.sender)
        held = {g: fleet for fleet, gens in self._gen_sender.items() for g in gens}
        why = generator_claim(env.sender, ids, held, before, started=self.tick_now >= 0,
                              planned=env.sender in self._planned_fleets, plan_owner=self._plan_owner)
        if why is not None and "roles" in self.guards:  # another fleet's generators, or new or unplanned ones
            raise Refused("not_owner", why)
        if before is not None:  # the fleet restarted: the same generators, from the same sender
            if frozenset(ids) != before:
                raise ValueError(f"{env.sender} registered again with other generators")
            self._resend_trees(env.sender, msg.column("gen_ids"))
            return wire.Registered(True, "rejoined")
        seen = set(self.region.gen_index) | {g for m in (*self._pending_gens.values(), *self._joining.values())
                                             for g in m.column("gen_ids").tolist()}
        twice = sorted(set(ids) & seen) or sorted(g for g in set(ids) if ids.count(g) > 1)
        if twice:
            raise ValueError(f"generators registered twice: {twice[:5]} (by {env.sender}, and before by another fleet or twice in one message)")
        if not msg.n:
            return wire.Registered(True, "none of these generators is in this tracker's bucket: send it nothing")
        self._gen_sender[env.sender] = frozenset(ids)
        if env.sender not in self._planned_fleets:  # a joiner: its generators count from the tick that names it
            self._joining[env.sender] = msg
            self.gen_status.join(env.sender, 2**62)  # its gen-status may come before we see that tick
            return wire.Registered(True, "pending: counted from the tick whose `joined` lists you")
        self._pending_gens[env.sender] = msg
        self.gen_status.join(env.sender, 0)
        return wire.Registered(True)

    def on_members(self, tick: int, joined: dict[str, str], left: list[str]) -> None:
        """Fleets that joined: their generators are ours from this tick's round on. Fleets that
        left: their generators retire (output 0 for good), so this round rehomes their
        consumers (placed elsewhere, or kept starved and handed over: nobody is lost)."""
        for name in sorted(joined):
            reg = self._joining.pop(name, None)
            if reg is not None:
                self._add_generators(reg)
                self.gen_status.join(name, tick)
                log.warning("%s: %s joined with %d generators from tick %d", self.name, name, reg.n, tick)
        for name in sorted(joined):  # a peer tracker back (restarted): its handovers and summaries count again
            if name in self._gone_trackers:
                self._gone_trackers.discard(name)
                self.handovers.join(name, tick)
                self.summaries.join(name, tick)
        for name in left:
            self.reports.leave(name, tick)  # a dead population's reports never come
            if name in self.peer_trackers:  # nor a dead peer tracker's handovers and summaries: no tick waits for them
                self._gone_trackers.add(name)
                self.handovers.leave(name, tick)
                self.summaries.leave(name, tick)
            ids = self._gen_sender.get(name)
            if ids is None or name not in self.gen_status.expected:
                continue
            self.gen_status.leave(name, tick)
            retired, on_them = balance.retire_fleet(self.region, sorted(ids))
            self.retired += retired
            self.rehomed += on_them
            log.warning("%s: %s left at tick %d; its %d generators retire, %d consumers rehomed", self.name, name, tick,
                        retired, on_them)

    def _where_are(self, ids: np.ndarray) -> wire.Resync:
        """The truth as this tracker has it about these consumers (scowl.balance.Region.where_are)."""
        held, demand, gen = self.region.where_are(ids)
        return wire.Resync.pack(ids=held, demand_mw=demand, gen_ids=gen)

    def _resend_trees(self, fleet: str, gen_ids: np.ndarray) -> None:
        """A fleet that restarted lost its own copy of its generators' trees: send it the
        whole of them as one TreeDelta (later rounds' deltas follow it on the same link).
        Before the first tick there is nothing to send: its registration is still pending."""
        if fleet in self._pending_gens or not gen_ids.size:
            return
        ids, gens = self.region.trees_of(gen_ids)
        self.send(fleet, wire.TreeDelta.pack(tick=max(self.tick_now, 0), ids=ids, gen_ids=gens))
        self.rejoined += 1
        log.warning("%s: %s rejoined; sent it the trees of its %d generators (%d consumers)", self.name, fleet, gen_ids.size, ids.size)

    @on(wire.ConsumersRegister)
    def on_consumers(self, msg: wire.ConsumersRegister, env: wire.Envelope):
        if self.tick_now >= 0:  # the run is under way: a population that restarted asks where its consumers are
            return self._where_are(msg.column("ids"))
        lo = self.region.global_index(msg.column("ids"))
        twice = registered_twice(lo, self.region.local_of, self._claimed)
        if twice:
            raise ValueError(f"{twice} consumers registered twice (by {env.sender}: held or claimed already, or twice in one message)")
        self._claimed[lo] = True
        if msg.n:
            self._population_hi[env.sender] = int(msg.column("ids")["hi"][0])
        self._pending_cons.setdefault(env.sender, []).append(msg)  # one sender's chunks come in order
        return wire.Registered(True)

    def _apply_registrations(self) -> None:
        for sender in sorted(self._pending_gens):
            self._add_generators(self._pending_gens.pop(sender))
        self.region.reserve(sum(m.n for msgs in self._pending_cons.values() for m in msgs))  # no doubling's spare room
        for sender in sorted(self._pending_cons):
            for msg in self._pending_cons.pop(sender):
                self.region.add_consumers(msg.column("ids"), msg.column("demand_mw"))
        self._claimed = np.zeros(0, dtype=bool)

    def _add_generators(self, msg: wire.GeneratorsRegister) -> None:
        self.region.add_generators(msg.column("gen_ids"), msg.column("kind"), msg.column("min_mw"),
                                   msg.column("nameplate_mw"), msg.column("ramp_mw"))
        if self.region.limits is not None:
            self.region.limits.add_generators(msg.column("gen_ids"), np.frombuffer(msg.zone, dtype=np.uint8))
