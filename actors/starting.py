"""The metronome's wait for its peers to start, before tick 0: every peer of the plan ready and
subscribed, within `start_deadline_s`.

A peer that died before the day started is not waited for to that deadline. Every peer
connects to the metronome first thing (actors.peer GridPeer.on_start), so the metronome has a
route to it long before it says Ready. While it waits, the metronome probes every peer it has a
route to, as a lockstep tick probes the peers it waits for (Metronome._check_liveness): the
route of one whose connection closed (its process died or was killed) is gone. Unless it is
back (it connected again: restarted) within `death_grace_s`, the run ends at once naming it,
as the start deadline would have: a day does not start without a peer of its plan (its
consumers, its generators and the registrations of the others depend on it). A peer that never
connected at all is still waited for up to the start deadline.

A layer under the Metronome (one concept per module), as actors.membership."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

from scowl.errors import ActorError
from scowl.plan import RunPlan, role_of
from scowl.runtime import Actor


class StartFailed(ActorError):
    """The day cannot start: a peer died before tick 0, or some never said ready in time."""


class StartWait(Actor):
    # set by the Metronome that this layer serves
    plan: RunPlan
    expected: set[str]
    ready: set[str]
    _all_ready: asyncio.Event
    start_deadline_s: float
    report_after_s: float
    liveness_s: float
    death_grace_s: float
    say: Callable[[str], None]

    async def _await_start(self) -> None:
        """Every peer ready and subscribed, saying whom we wait for; StartFailed at the
        deadline, or as soon as a peer that connected is gone for `death_grace_s`."""
        t0 = time.monotonic()
        said = t0
        connected: set[str] = set()  # peers we had a route to
        gone: dict[str, float] = {}  # connected peer whose route is gone -> since (monotonic s)
        while not self._all_ready.is_set():
            now = time.monotonic()
            if now - t0 >= self.start_deadline_s:
                missing = sorted(self.expected - self.ready)
                raise StartFailed(f"{len(missing)} peer(s) never said ready within {self.start_deadline_s:g} s: "
                                  f"{', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
            self._probe_starting(now, connected, gone)
            if now - said >= self.report_after_s:
                said = now
                missing = sorted(self.expected - self.ready)
                self.say(f"waiting {now - t0:.0f} s for {len(missing)} peer(s) to start: {', '.join(missing[:10])}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_ready.wait(),
                                       min(self.liveness_s, self.report_after_s, self.start_deadline_s - (now - t0)))
        await self.await_subscribers(self.expected, timeout=max(10.0, self.start_deadline_s - (time.monotonic() - t0)))

    def _probe_starting(self, now: float, connected: set[str], gone: dict[str, float]) -> None:
        """Probe every peer we have a route to; StartFailed for one whose route is gone (it
        connected, then its connection closed) and not back within `death_grace_s`."""
        for name in sorted(self.expected):
            if self.has_route(name):
                connected.add(name)
                if gone.pop(name, None) is not None:
                    self.say(f"{name} is back before tick 0 (it connected again)")
                self.probe(name)
            elif name in connected and name not in gone:
                gone[name] = now
                self.say(f"{name} is gone before tick 0: its connection to the metronome closed (the process died or "
                         f"was killed); the run ends unless it is back within {self.death_grace_s:g} s")
            elif name in gone and now - gone[name] >= self.death_grace_s:
                raise StartFailed(f"{name} ({role_of(self.plan, name)}) died before the day started: its connection to "
                                  f"the metronome closed and it was not back within {self.death_grace_s:g} s; the day "
                                  f"cannot start without it (its error is in its trace log or stderr)")
