"""A population's inbox of its trackers' Assigns: one per tracker per tick, gathered like any
per-tick message (scowl.actors.peer.Gather), plus, under real-time pacing, the Assigns of the
trackers' continuous rounds (`seq` > 0). Those are made after the tracker's round of their
`tick` and before its next one, so they are followed, in arrival order, with the assignments
of the next tick the population follows, before them: each tracker's word in the order it said
it, and every consumer counted once a tick in the books."""

from __future__ import annotations

from typing import Any

from scowl.actors.peer import Gather


class AssignInbox(Gather):
    def __init__(self, trackers: list[str]) -> None:
        super().__init__(trackers, "assign")
        self._interim: list[tuple[int, Any]] = []  # (tick, (sender, Assign)) of continuous rounds, arrival order
        self.interim_applied = 0

    def add(self, tick: int, sender: str, msg: object) -> None:
        assign = msg[1] if isinstance(msg, tuple) else msg
        if getattr(assign, "seq", 0):
            if sender not in self._members:
                raise ValueError(f"{self.what} from unexpected sender {sender!r}")
            self._interim.append((tick, msg))
            return
        super().add(tick, sender, msg)

    def take(self, tick: int, older: bool = True) -> list:
        """The continuous rounds' Assigns made before `tick`'s round (arrival order), then
        `tick`'s (and late ones of earlier ticks), sender order."""
        early = [m for t, m in self._interim if t < tick]
        self._interim = [(t, m) for t, m in self._interim if t >= tick]
        self.interim_applied += len(early)
        return early + super().take(tick, older)
