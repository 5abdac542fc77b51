"""A population's inbox of its trackers' Assigns: one per tracker per tick, gathered like any
per-tick message (scowl.actors.peer.Gather), plus, under real-time pacing, the Assigns of the
trackers' continuous rounds (`seq` > 0). A continuous round's Assign was made after the
tracker's round of its `tick` and before its next one, so it is followed right after that
tick's assignments, in arrival order (and before any later tick's): each tracker's word in the
order it said it, even when the population, running late, follows several ticks at once; and
every consumer is counted once a tick in the books.

A tracker's Assign ends with the starved consumers it handed to a peer this tick (`handed`):
the peer, if it took them, names them in its own Assign of the tick. So `words` gives each
tick's handed parts first: any other tracker's word of the tick beats them, whatever the sender
order, and a consumer nobody else named stays starved with the tracker that handed it. A
handed part that comes after its tick was followed (the giver's Assign was late) is dropped:
the taker's word came before it; and if nobody took them, the giver takes them back and names
them again (scowl.balance.handed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from scowl.actors.peer import Gather


class AssignInbox(Gather):
    def __init__(self, trackers: list[str]) -> None:
        super().__init__(trackers, "assign")
        self._interim: list[tuple[int, Any]] = []  # (tick, (sender, Assign)) of continuous rounds, arrival order
        self.interim_applied = 0
        self.followed = -1  # the last tick whose words were given
        self.late_handed = 0  # consumers in handed parts dropped for coming after their tick was followed

    def add(self, tick: int, sender: str, msg: object) -> None:
        assign = msg[1] if isinstance(msg, tuple) else msg
        if getattr(assign, "seq", 0):
            if sender not in self._members:
                raise ValueError(f"{self.what} from unexpected sender {sender!r}")
            self._interim.append((tick, msg))
            return
        super().add(tick, sender, msg)

    def take(self, tick: int, older: bool = True) -> list:
        """`tick`'s Assigns (and late ones of earlier ticks), by (tick, sender), each tick's
        followed by the continuous rounds' Assigns made after it (arrival order)."""
        interim = [m for t, m in self._interim if t <= tick]
        self._interim = [(t, m) for t, m in self._interim if t > tick]
        self.interim_applied += len(interim)
        # stable: a tick's own Assigns keep their sender order, continuous rounds' their arrival order
        return sorted(super().take(tick, older) + interim, key=lambda a: (a[1].tick, a[1].seq > 0))

    def words(self, tick: int) -> Iterator[tuple[str, np.ndarray, np.ndarray | int, np.ndarray]]:
        """(sender, lo, hi, gen_ids) to follow, in order: `take(tick)`, each tick's handed parts
        first (see the module's docstring), then every Assign's own words in take's order. `lo`
        the ids' low words (global indices), `hi` their high word: one int for the compact form,
        an array for the 16-byte one (no 16-byte id is rebuilt from a compact Assign)."""
        assigns = self.take(tick)
        followed, self.followed = self.followed, max(self.followed, tick)
        for t in sorted({a.tick for _, a in assigns}):
            of_t = [(s, a) for s, a in assigns if a.tick == t]
            for sender, a in of_t:
                if a.handed and t <= followed:
                    self.late_handed += a.handed
                elif a.handed:
                    lo, hi = _lo_hi(a)
                    k = a.n - a.handed
                    yield sender, lo[k:], (hi if isinstance(hi, int) else hi[k:]), a.column("gen_ids")[k:]
            for sender, a in of_t:
                k = a.n - a.handed
                lo, hi = _lo_hi(a)
                yield sender, lo[:k], (hi if isinstance(hi, int) else hi[:k]), a.column("gen_ids")[:k]


def _lo_hi(a: Any) -> tuple[np.ndarray, np.ndarray | int]:
    """An Assign's ids as (low words, high word(s)): the compact form's uint32 global indices and
    its one high word as they came, or the 16-byte ids' two fields."""
    if getattr(a, "compact", False):
        return np.frombuffer(a.lo, dtype=np.uint32), int(a.hi)
    ids = a.column("ids")
    return ids["lo"], ids["hi"]
