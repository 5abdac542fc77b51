"""A tracker's continuous rounds under real-time pacing (mixed into scowl.actors.tracker.Tracker):
whenever generator statuses or demand reports come, the tracker rebalances on them as soon as
its loop is free (scowl.balance.continuous.interim_round), back to back while updates keep
coming, and sends what changed at once: an Assign with `seq` > 0 to each population concerned
(followed with its next tick's assignments, scowl.actors.assign_inbox) and a TreeDelta to the
fleets. The tick's round (and its sub-round) still goes once a tick and takes every update of
the tick again; lockstep runs no continuous round, so it stays one deterministic round a tick."""

from __future__ import annotations

import time
from typing import Any

from scowl import balance, wire
from scowl.balance.owners import NO_OWNER, range_owner


def gen_update(st: wire.GenStatus) -> balance.GenUpdate:
    return balance.GenUpdate(st.column("gen_ids"), st.column("output_mw"), st.column("setpoint_mw"), st.column("charge_mw"), st.column("load_mw"))


class ContinuousRounds:
    # provided by the Tracker
    lockstep: bool
    region: Any
    plan: Any
    gen_status: Any
    tick_now: int
    _first: Any
    _finished: int
    _stopping: bool
    _pop_ranges: list
    round_wall: tuple[float, float]
    send: Any
    call_later: Any
    _note_unsent: Any
    _maybe_round: Any

    def _init_continuous(self) -> None:
        # real time: updates not yet applied by a round, and the continuous rounds run on them
        self.continuous = not self.lockstep
        self._unheard: list[int] = []  # populations the last tick round did not hear: kept frozen here too
        self._fresh_status: list[balance.GenUpdate] = []
        self._fresh_reports: list[balance.ConsumerBatch] = []
        self._kicked = False
        self.interim_rounds = 0
        self.interim_seconds = 0.0
        self._interim_seq = 0  # continuous rounds since the last tick round (an Assign's seq; not the envelope counter `_seq`)

    def _kick(self) -> None:
        """A continuous round as soon as the loop is free (one pending at a time: it takes
        whatever has come by then), then the tick's round if every update of the tick is in."""
        if not self._kicked:
            self._kicked = True
            self.call_later(0, self._continue)

    def _continue(self) -> None:
        self._kicked = False
        # not while the tick's round waits for its sub-round (it kicks again when done), nor
        # before the first tick's round
        if self._first is None and self._finished >= 0 and not self._stopping and (self._fresh_status or self._fresh_reports):
            self._interim()
        self._maybe_round(self.tick_now)

    def _interim(self) -> None:
        t0 = time.perf_counter()
        statuses, reports = self._fresh_status, self._fresh_reports
        self._fresh_status, self._fresh_reports = [], []
        out = balance.interim_round(self.region, max(self.tick_now, 0), statuses, reports, self._unheard)
        self.interim_rounds += 1
        self.interim_seconds += time.perf_counter() - t0
        self.round_wall = (self.round_wall[0], t0)
        if not out.ids.size:
            return
        self._interim_seq += 1
        owner = range_owner(out.ids["lo"], self._pop_ranges)
        for k, p in enumerate(self.plan.populations):
            mine = (owner == k) | (owner == NO_OWNER)
            if mine.any():
                self.send(p.name, wire.Assign.pack_ids(tick=self._finished, ids=out.ids[mine], gen_ids=out.gen_ids[mine], seq=self._interim_seq))
        delta = wire.TreeDelta.pack(tick=max(self.tick_now, 0), ids=out.ids, gen_ids=out.gen_ids)
        for fleet in sorted(self.gen_status.expected_at(max(self.tick_now, 0))):
            self._note_unsent(fleet, out.ids)
            self.send(fleet, delta)

