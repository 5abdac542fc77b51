"""The metronome's open membership: who is counted, tick by tick. Peers the run plan does not
name join a running grid with a join ticket and are counted from the first tick published
after they acknowledged a sync probe (that tick's `joined` names them); a fleet that sends
Leave is gone from the next tick (its `left` names it, trackers rehome its consumers) and is
asked for its final figures.

Dead is not cut. The metronome's links are exempt from every network fault, so a peer whose
connection to it closed is gone, not cut off: it is absent at once (no tick waits for it)
and, unless it comes back (says Ready again) within `death_grace_s`, it is declared dead and
the next tick's `left` names
it, the same path as a Leave: trackers retire a dead fleet's generators, so its consumers are
rehomed or starved, never counted served on a generator nobody runs; everyone stops waiting
for it. A peer declared dead cannot come back in this run. Each death is in `deaths` with the
tick it was lost at and the tick the others were told (`told_at_tick`).

A layer under the Metronome (one concept per module): the metronome's tick loop calls
`_change_members(tick)` before it publishes a tick, and `membership()` for the summary."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from scowl import membership, wire
from scowl.errors import ActorError
from scowl.plan import RunPlan, role_of
from scowl.runtime import Actor, on

log = logging.getLogger("scowl.metronome")


class OpenMembership(Actor):
    # set by the Metronome that this layer serves
    plan: RunPlan
    ticks: int
    current: int
    expected: set[str]
    absent: set[str]
    finals: dict[str, dict]
    deaths: list[dict]
    _back: dict[str, int]
    rejoins: list[tuple[str, int, int]]
    death_grace_s: float
    say: Callable[[str], None]  # the metronome's word on the terminal

    def _check_done(self) -> None:
        """The Metronome's: end the tick's wait when every counted peer reported it."""
        raise NotImplementedError

    def _init_membership(self) -> None:
        self._lost_at: dict[str, float] = {}  # absent peer -> when it was found gone (monotonic s)
        self.dead_at: dict[str, int] = {}  # peer declared dead -> the tick whose `left` named it
        self.roles: dict[str, str] = {}  # joiner -> role
        self.joined_at: dict[str, int] = {}  # joiner -> the first tick it was counted at
        self.left_at: dict[str, int] = {}  # peer that sent Leave -> the first tick it was no longer counted at
        self._joins: dict[int, list[str]] = {}  # tick -> joiners counted from it
        self._leaves: dict[int, list[str]] = {}  # tick -> leavers gone from it
        self._admitting: set[str] = set()
        self._goodbyes: list[asyncio.Task] = []  # the final queries of peers that left

    def _role_of(self, name: str) -> str:
        return self.roles.get(name) or role_of(self.plan, name)

    def _admit(self, msg: wire.Ready, env: wire.Envelope) -> wire.Registered:
        """A peer the plan does not name says ready: with a valid ticket it is counted from the
        first tick published after it acknowledged a sync probe (that tick's `joined` names it)."""
        if env.sender != msg.name:
            return wire.Registered(False, f"ready for {msg.name[:64]!r} sent by {env.sender[:64]!r}")
        if msg.name in self.left_at:
            return wire.Registered(False, f"{msg.name} left this run at tick {self.left_at[msg.name]}; it cannot come back")
        if msg.name in self.dead_at:
            return wire.Registered(False, f"{msg.name} was declared dead at tick {self.dead_at[msg.name]} (gone longer than "
                                          f"the {self.death_grace_s:g} s grace); it cannot come back in this run")
        if not msg.ticket:
            return wire.Registered(False, f"{msg.name[:64]!r} is not a peer of this run's plan and shows no join ticket")
        key = self.roster.public_key(msg.name) if self.roster is not None else ""  # CURVE on: the ticket names its key
        if not membership.ticket_ok(self.plan.join_token, msg.ticket, msg.name, msg.role, key):
            return wire.Registered(False, f"bad join ticket for {msg.name[:64]!r} as {msg.role!r}")
        if msg.name not in self._admitting:
            self._admitting.add(msg.name)
            self.roles[msg.name] = msg.role
            self._spawn(self._count_in(msg.name))
        return wire.Registered(True, "joining: counted from the tick whose `joined` lists you")

    async def _count_in(self, name: str) -> None:
        try:
            await self.await_subscribers({name}, timeout=30)
        except ActorError as exc:
            log.warning("%s: joiner %s never acknowledged a sync probe (%s); not counted", self.name, name, exc)
            self._admitting.discard(name)
            return
        start = max(self.current + 1, 0)
        self._joins.setdefault(start, []).append(name)
        log.warning("%s: %s (%s) joins the running grid; counted from tick %d", self.name, name, self.roles[name], start)

    @on(wire.Leave)
    def on_leave(self, msg: wire.Leave, env: wire.Envelope):
        """A fleet leaves: gone from the next tick on (its `left` names it; trackers rehome its
        consumers), asked for its final figures then."""
        if env.sender != msg.name:
            return wire.Registered(False, f"leave for {msg.name[:64]!r} sent by {env.sender[:64]!r}: a peer leaves only itself")
        if msg.name in self.left_at or any(msg.name in names for names in self._leaves.values()):
            tick = self.left_at.get(msg.name) or next(t for t, names in self._leaves.items() if msg.name in names)
            return wire.Registered(True, f"leaves at tick {tick}")
        if msg.name not in self.expected:
            return wire.Registered(False, f"{msg.name[:64]!r} is not counted in this run (not joined, or not yet)")
        role = self._role_of(msg.name)
        if role not in ("generator", "storage"):
            return wire.Registered(False, f"a {role} cannot leave a running grid (only fleets can: their consumers are rehomed)")
        tick = max(self.current + 1, 0)
        if tick >= self.ticks:
            return wire.Registered(True, f"the run ends at tick {self.ticks - 1}: stay until stop")
        self._leaves.setdefault(tick, []).append(msg.name)
        log.warning("%s: %s leaves the grid at tick %d (%s)", self.name, msg.name, tick, msg.reason or "no reason given")
        return wire.Registered(True, f"leaves at tick {tick}")

    def _change_members(self, tick: int) -> tuple[list[str], list[str], list[str]]:
        """Who is counted from this tick on, and who no longer: (joined, their roles, left).
        `left` names the peers that sent Leave and those declared dead."""
        joined = sorted(self._joins.pop(tick, []))
        leaving = sorted(self._leaves.pop(tick, []))
        dead = self._declare_dead(tick)
        for name in joined:
            self.expected.add(name)
            self._admitting.discard(name)
            self.joined_at[name] = tick
        for name in leaving:
            self.expected.discard(name)
            self.absent.discard(name)
            self.left_at[name] = tick
            self._goodbyes.append(self._spawn(self._goodbye(name)))
        return joined, [self.roles.get(n) or role_of(self.plan, n) for n in joined], sorted(leaving + dead)

    # ------------------------------------------------------------------ deaths

    def _lost(self, name: str, how: str) -> None:
        """`name` is gone (its connection closed, or silent past the deadline): absent until it
        comes back; dead once the grace runs out (`_declare_dead`)."""
        if name in self.absent:
            return
        self.absent.add(name)
        self._lost_at[name] = time.monotonic()
        self.deaths.append({"peer": name, "role": self._role_of(name), "tick": self.current, "how": how})
        self.say(f"{name} lost at tick {self.current}: {how}; the day goes on without it "
                 f"(declared dead unless back within {self.death_grace_s:g} s)")

    def _declare_dead(self, tick: int) -> list[str]:
        """The lost peers that did not come back within the grace and whose connection is
        closed: no longer counted from `tick`, and this tick's `left` tells every peer. One
        only silent past the tick deadline, its connection open, is slow, not dead: absent
        until it reports again."""
        now = time.monotonic()
        dead = []
        for name, since in sorted(self._lost_at.items()):
            if name not in self.absent or name not in self.expected:  # it came back (or left)
                del self._lost_at[name]
            elif name not in self._back and now - since >= self.death_grace_s and not self.has_route(name):
                del self._lost_at[name]
                dead.append(name)
        for name in dead:
            self.expected.discard(name)
            self.absent.discard(name)
            self.dead_at[name] = tick
            for d in self.deaths:
                if d["peer"] == name and "told_at_tick" not in d:
                    d["told_at_tick"] = tick
            self.say(f"{name} declared dead at tick {tick}: not back within {self.death_grace_s:g} s; every peer is told")
        return dead

    def _rejoin(self, name: str) -> None:
        """A peer restarted during the run: its old self's TickDone will never come; count
        it again once it surely receives the ticks."""
        log.warning("%s: %s restarted and rejoins at tick %d", self.name, name, self.current)
        self.absent.add(name)
        self._back[name] = -1
        self._check_done()
        self._spawn(self._count_back(name, self.current))

    async def _count_back(self, name: str, said_ready: int) -> None:
        try:
            await self.await_subscribers({name}, timeout=120)
        except ActorError as exc:  # it died again before it heard a tick: absent it stays
            log.warning("%s: %s said ready but never subscribed (%s); it stays absent", self.name, name, exc)
            self._back.pop(name, None)
            self._lost_at.setdefault(name, time.monotonic())
            return
        self._back[name] = self.current + 1
        self.rejoins.append((name, said_ready, self.current + 1))
        log.warning("%s: %s is counted again from tick %d", self.name, name, self.current + 1)

    async def _goodbye(self, name: str) -> None:
        try:
            reply = await self.request(name, wire.FinalQuery(), timeout=10)
        except Exception as exc:
            log.error("no final figures from %s, which left at tick %d: %s", name, self.left_at[name], exc)
            return
        if isinstance(reply, wire.FinalFigures):
            self.finals[name] = {"role": reply.role, **reply.figures, "left_at_tick": float(self.left_at[name])}

    def membership(self) -> dict:
        """Peers that joined or left during the run (the summary's `membership`)."""
        return {"joined": {n: {"role": self.roles[n], "tick": t} for n, t in sorted(self.joined_at.items())},
                "left": {n: {"role": self._role_of(n), "tick": t} for n, t in sorted(self.left_at.items())}}
