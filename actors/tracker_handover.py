"""A tracker's side of its peers' handovers (mixed into scowl.actors.tracker.Tracker): which
Handovers its sub-round takes, and the answer its RegionSummaries give each giver. The taker
alone decides (scowl.balance.handed): a Handover of tick t is taken in the sub-round of t, or
of t+1 when it came too late for t's, never later; every RegionSummary to the giver lists the
ticks of its Handovers taken within the last ANSWER_WINDOW ticks, so one lost summary loses no
answer."""

from __future__ import annotations

import logging
from typing import Any

from scowl import balance

log = logging.getLogger("scowl.tracker")


class HandoverTaking:
    # provided by the Tracker
    name: str
    handovers: Any

    def _init_handovers(self) -> None:
        self._later: list[balance.ConsumerBatch] = []  # served consumers peers handed us, ours at the next round
        self.late_handovers = 0  # consumers in peers' Handovers that came after our sub-round of the tick after theirs: not taken
        self._took: dict[str, list[int]] = {}  # the ticks of each peer's Handovers we took, the last ANSWER_WINDOW

    def _take_handovers(self, tick: int) -> list[balance.ConsumerBatch]:
        """The starved consumers peers handed us that the sub-round of `tick` takes (sender order;
        one that came too late for its own tick's sub-round first); their served ones go to
        `_later`, ours at the next round."""
        now: list[balance.ConsumerBatch] = []
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
            now.append(balance.ConsumerBatch(ids[:k], demand[:k]))
            if h.later:
                self._later.append(balance.ConsumerBatch(ids[k:], demand[k:]))
        return now

    def _took_of(self, peer: str) -> list[int]:
        """What our RegionSummary tells `peer`: the ticks of its Handovers we took, recently."""
        return self._took.get(peer, [])
