"""What every grid actor shares: joining the run (broker directory, metronome), ticks, and
gathering one message per expected sender per tick before acting on it."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from scowl import wire
from scowl.config import Scenario
from scowl.faults import LinkFaults
from scowl.plan import RunPlan
from scowl.runtime import Actor, on
from scowl.runtime.node import LOOP_LAG
from scowl.runtime.stats import peak_rss_mb

log = logging.getLogger("scowl.peer")


#: a per-tick message more than this many ticks ahead of the receiver's clock is refused (and
#: counted, "too-early"): what a peer buffers for the future is bounded
EARLY_WINDOW_TICKS = 16


#: a deadline check running later than this behind its time counts the lateness as the loop's,
#: not the awaited peer's (timer jitter below it is the peer's)
LAG_EXCUSE_S = 0.02


class StageClock:
    """The time a lockstep stage has waited for its peers, less the time this process could not
    have heard them: each deadline check is due at a known time, and whatever it runs later than
    that (beyond `LAG_EXCUSE_S`) the loop was busy or the process unscheduled, so it is excused.
    Without this a loaded machine turns slow peers into lost ones and the day's books change."""

    def __init__(self, armed: float) -> None:
        self.armed = armed
        self.due = armed
        self.excused = 0.0

    def elapsed(self, now: float) -> float:
        late = now - self.due
        if late > LAG_EXCUSE_S:
            self.excused += late
        return now - self.armed - self.excused

    def next_check(self, due: float) -> None:
        self.due = due


class TooEarly(ValueError):
    """A per-tick message for a tick beyond the receiver's window."""


class Gather:
    """Collects one message per expected sender for each tick. Results come back ordered by
    (tick, sender), so what is done with them is deterministic whatever order the network
    delivered them in. Messages of earlier ticks that came late are kept for the next take.

    Membership can change during a run: `join(name, tick)` expects `name` from `tick` on,
    `leave(name, tick)` no longer from `tick` on (a peer that joined or left a running grid)."""

    def __init__(self, expected: Iterable[str], what: str, window: int = EARLY_WINDOW_TICKS) -> None:
        self.what = what
        self.window = window
        self.now: Callable[[], int] | None = None  # a callable giving the current tick (GridPeer sets it); None: no window
        self._members: dict[str, tuple[int, int | None]] = {name: (0, None) for name in expected}  # [from, until)
        self._boxes: dict[int, dict[str, object]] = defaultdict(dict)
        self._at: tuple[int, frozenset[str]] | None = None  # the last expected_at, until members change

    @property
    def expected(self) -> frozenset[str]:
        """The senders expected now and from now on (those that have not left)."""
        return frozenset(n for n, (_, until) in self._members.items() if until is None)

    def expected_at(self, tick: int) -> frozenset[str]:
        """The senders expected at `tick` (asked several times a tick: kept until members change)."""
        if self._at is not None and self._at[0] == tick:
            return self._at[1]
        names = frozenset(n for n, (start, until) in self._members.items() if start <= tick and (until is None or tick < until))
        self._at = (tick, names)
        return names

    def join(self, name: str, tick: int) -> None:
        """Expect `name` from `tick` on (again, if it had left)."""
        self._members[name] = (tick, None)
        self._at = None

    def leave(self, name: str, tick: int) -> None:
        """Stop expecting `name` from `tick` on; what it sent for earlier ticks still counts."""
        if name in self._members:
            start, _ = self._members[name]
            self._members[name] = (start, max(start, tick))
            self._at = None

    def add(self, tick: int, sender: str, msg: object) -> None:
        if sender not in self._members:
            raise ValueError(f"{self.what} from unexpected sender {sender!r}")
        if self.now is not None and tick > self.now() + self.window:
            raise TooEarly(f"{self.what} for tick {tick} from {sender}: more than {self.window} ticks ahead of tick {self.now()}")
        box = self._boxes[tick]
        if sender in box:
            raise ValueError(f"second {self.what} from {sender} for tick {tick}")
        box[sender] = msg

    def complete(self, tick: int) -> bool:
        return self.expected_at(tick) <= self._boxes.get(tick, {}).keys()

    def take(self, tick: int, older: bool = True) -> list:
        """This tick's messages (and, with `older`, late ones of earlier ticks first)."""
        out: list[Any] = []
        for t in sorted(k for k in self._boxes if k == tick or (k < tick and older)):
            box = self._boxes.pop(t)
            out.extend(box[s] for s in sorted(box))
        for t in [k for k in self._boxes if k < tick]:  # late ones not wanted: gone
            del self._boxes[t]
        return out

    def missing(self, tick: int) -> list[str]:
        return sorted(self.expected_at(tick) - set(self._boxes.get(tick, {})))


class GridPeer(Actor):
    """A grid actor: registers with the broker, links to the metronome, follows its ticks.
    Subclasses implement `setup()` (links, registration) and `on_tick(tick)`."""

    def __init__(self, name: str, plan: RunPlan, scenario: Scenario, address: str | None) -> None:
        super().__init__(name, address)
        self.plan = plan
        self.scenario = scenario
        self.clock.tick_seconds = scenario.tick_seconds
        self.pub_address = ""
        self.directory: dict[str, tuple[str, str, str]] = {}  # name -> (role, address, pub address)
        self.boot: asyncio.Task | None = None
        self.rtt_ms: list[float] = []
        self.late_pongs = 0  # probe replies that came after the probe gave up
        self.lockstep = scenario.pacing.mode == "lockstep"
        self.period = scenario.tick_seconds / scenario.pacing.factor
        self.heartbeat_timeout = scenario.response.heartbeat_timeout_s
        self.unreachable: set[str] = set()  # peers whose last expected message never came
        self._grid_peers = set(plan.names())  # (and those the metronome counts in as joined: who a `gone` may name)
        self.tick_started = 0.0
        self._expired: set[tuple[int, str]] = set()
        self.rejoining = False  # the broker knew us already: this process restarted mid-run
        if plan.transport_faults:
            self.link_filter = LinkFaults(plan, scenario, name)

    async def on_start(self) -> None:
        for gather in vars(self).values():  # every per-tick inbox refuses ticks beyond its window of our clock
            if isinstance(gather, Gather):
                gather.now = lambda: self.clock.tick
        await self.connect("broker", self.plan.broker)
        await self.connect("metronome", self.plan.metronome)
        await self.subscribe(self.plan.metronome_pub, (wire.Tick, wire.Gone), publisher="metronome")
        self.boot = self._spawn(self._boot())

    async def _boot(self) -> None:
        try:
            await self.prepare()
            reply = await self.request("broker", wire.PeerRegister(self.name, self.role, self.bound_address or "", self.pub_address), timeout=60, reply=wire.Registered)
            if not reply.ok:
                raise RuntimeError(f"broker refused {self.name}: {reply.detail}")
            self.rejoining = reply.detail == "rejoined"
            await self.setup()
            await self.request("metronome", wire.Ready(self.name, self.role), timeout=600)
            if self.role in ("consumer", "generator"):
                self._spawn(self.probe_trackers())
        except Exception:
            log.exception("%s: failed to join the run", self.name)
            raise

    async def prepare(self) -> None:
        """Hook: bind extra sockets (e.g. a PUB) before registering in the directory."""

    async def setup(self) -> None:
        """Hook: links and registrations with other actors."""

    async def lookup(self, role: str = "") -> dict[str, tuple[str, str, str]]:
        """The broker's directory (answered once every actor of the plan has registered)."""
        d = await self.request("broker", wire.DirectoryQuery(role), timeout=600, reply=wire.Directory)
        found = {n: (r, a, p) for n, r, a, p in zip(d.names, d.roles, d.addresses, d.pub_addresses)}
        self.directory.update(found)
        return found

    @on(wire.PeerRegister)
    async def on_peer_moved(self, msg: wire.PeerRegister, env: wire.Envelope):
        """The broker says a peer restarted at new addresses: move our link and subscription
        to it over (what was queued for its old self is dropped)."""
        if env.sender != "broker":
            raise ValueError(f"a peer's new addresses come from the broker, not from {env.sender}")
        old = self.directory.get(msg.name)
        self.directory[msg.name] = (msg.role, msg.address, msg.pub_address)
        moved = await self.relink(msg.name, msg.address)
        if old is not None and old[2] and old[2] != msg.pub_address:
            moved = await self.resubscribe(old[2], msg.pub_address) or moved
        if moved:
            log.warning("%s: %s moved to %s; linked there", self.name, msg.name, msg.address)

    @on(wire.Tick)
    def _on_tick_msg(self, msg: wire.Tick, env: wire.Envelope):
        self.clock.advance_to(msg.tick)
        self.tick_started = asyncio.get_running_loop().time()
        self._expired = {k for k in self._expired if k[0] >= msg.tick}
        if msg.joined or msg.left:
            self._grid_peers.update(msg.joined)
            self.on_members(msg.tick, dict(zip(msg.joined, msg.joined_roles)), list(msg.left))
        return self.on_tick(msg.tick)

    @on(wire.Gone)
    def _on_gone(self, msg: wire.Gone, env: wire.Envelope):
        """The metronome found these peers' connections closed (their process died): missed now,
        so this tick's stages wait for them a tenth of a heartbeat, not `hops` heartbeats (their
        messages cannot come); heard again, they count as before (`heard`). Only grid peers we know
        (the plan's, those counted in as joined): no other name is ever heard again."""
        names = [n for n in msg.names if n != self.name and n in self._grid_peers]
        if msg.tick == self.clock.tick and names:
            log.info("%s: the metronome found %s gone at tick %d (connection closed)", self.name, ", ".join(names), msg.tick)
            self.missed(names)

    def on_failure(self, env: wire.Envelope, msg: wire.Message, exc: BaseException) -> None:
        if isinstance(exc, TooEarly):  # refused, not a fault of ours: counted as a rejection
            self._reject(env.sender, "too-early", str(exc))
            return
        super().on_failure(env, msg, exc)

    def on_members(self, tick: int, joined: dict[str, str], left: list[str]) -> None:
        """Hook: the metronome counts these peers (name -> role) from `tick` on, and no longer
        counts `left` from `tick` on (peers joining and leaving the running grid)."""

    # ---------------------------------------------------------------- deadlines and heartbeats

    def arm(self, tick: int, stage: str, fraction: float, missing, then, hops: int = 1) -> None:
        """Stop waiting for this tick's `stage` at its deadline, then call `then(tick)`;
        `missing()` names the peers still awaited. Lockstep: the heartbeat timeout while a
        peer we believe reachable is awaited, a tenth of it once only peers already missed
        are (so a partition costs one timeout, not one per tick), times `hops`: how many
        stages, each of which may wait out its own deadline, lie between arming and the
        awaited messages (so a stage never gives up on a peer that is only waiting for a cut
        one). Lockstep counts only time this process's event loop was free to hear the peer:
        when a check runs late (the loop was busy with another actor's work, or the OS did not
        schedule the process on a loaded machine), the lateness is excused, so a lockstep day
        does not change with the machine's load (`StageClock`). Real time: `fraction` of the
        tick's wall period (a late peer misses the tick)."""
        loop = asyncio.get_running_loop()
        armed = loop.time()
        clock = StageClock(armed)

        def check() -> None:
            if tick != self.clock.tick or self._stopping:
                return
            waiting = missing()
            if not waiting:
                return
            now = loop.time()
            if self.lockstep:
                elapsed = clock.elapsed(now)
                fresh = any(p not in self.unreachable for p in waiting)
                limit = hops * (self.heartbeat_timeout if fresh else self.heartbeat_timeout / 10)
            else:
                elapsed = now - armed
                limit = self.tick_started + self.period * fraction - armed
            if elapsed >= limit:
                self._expire(tick, stage, then)
            else:
                delay = min(limit - elapsed, self.heartbeat_timeout / 10) if self.lockstep else limit - elapsed
                clock.next_check(now + delay)
                self.call_later(delay, check)

        self.call_later(0 if self.lockstep else max(0.0, self.tick_started + self.period * fraction - armed), check)

    def _expire(self, tick: int, stage: str, then) -> None:
        self._expired.add((tick, stage))
        try:
            then(tick)
        except Exception as exc:
            self.stats.failed += 1
            log.exception("%s: %s deadline of tick %d raised %s", self.name, stage, tick, exc)

    def expired(self, tick: int, stage: str) -> bool:
        return (tick, stage) in self._expired

    def missed(self, peers: Iterable[str]) -> None:
        """Expected messages that never came: those peers are unreachable until heard."""
        for p in peers:
            if p not in self.unreachable:
                self.unreachable.add(p)
                self.on_unreachable(p)

    def heard(self, peer: str) -> None:
        if peer in self.unreachable:
            self.unreachable.discard(peer)
            self.on_reachable(peer)

    def on_unreachable(self, peer: str) -> None:
        """Hook: a peer missed its heartbeat (its per-tick message never came)."""
        log.info("%s: lost %s", self.name, peer)

    def on_reachable(self, peer: str) -> None:
        """Hook: a peer we had lost is heard from again."""
        log.info("%s: %s is back", self.name, peer)

    def on_tick(self, tick: int):
        """Hook: the metronome started `tick`."""

    def done(self, tick: int, figures: dict[str, float]) -> None:
        figures = {k: float(v) for k, v in figures.items()}
        figures["rss_peak_mb"] = peak_rss_mb()
        self.send("metronome", wire.TickDone(tick, self.role, figures))

    @on(wire.FinalQuery)
    def _on_final_query(self, msg: wire.FinalQuery, env: wire.Envelope):
        final = {k: float(v) for k, v in self.final_figures().items()}
        usage = resource.getrusage(resource.RUSAGE_SELF)
        final.update(rss_peak_mb=peak_rss_mb(), cpu_user_s=usage.ru_utime, cpu_sys_s=usage.ru_stime, **LOOP_LAG.figures())
        for key in ("sent", "received", "bytes_sent", "bytes_received", "rejected", "failed"):
            final[f"msg_{key}"] = float(self.stats.as_dict()[key])
        final.update(self.rejection_figures())
        for peer, (m_out, b_out, m_in, b_in) in sorted(self.link_bytes.items()):
            final[f"link_out_msgs:{peer}"], final[f"link_out_bytes:{peer}"] = m_out, b_out
            final[f"link_in_msgs:{peer}"], final[f"link_in_bytes:{peer}"] = m_in, b_in
        if self.rtt_ms:
            r = np.asarray(self.rtt_ms)
            final.update(late_pongs=float(self.late_pongs), tracker_rtt_ms_mean=float(r.mean()), tracker_rtt_ms_p50=float(np.median(r)), tracker_rtt_ms_p95=float(np.percentile(r, 95)))
        return wire.FinalFigures(self.role, final)

    async def probe_trackers(self, interval: float = 0.2) -> None:
        """Application-level round trips to every tracker, on wall time (never used for
        decisions, so lockstep runs stay deterministic): what added latency looks like."""
        while True:
            for tracker in self.plan.trackers:
                if self.has_route(tracker):
                    t0 = time.perf_counter()
                    try:
                        await self.request(tracker, wire.Ping(0), timeout=5)
                        self.rtt_ms.append((time.perf_counter() - t0) * 1e3)
                    except Exception:
                        pass
            await asyncio.sleep(interval)

    @on(wire.Pong)
    def _on_late_pong(self, msg: wire.Pong, env: wire.Envelope):
        """A probe's Pong that came after its timeout (its request is gone): counted, not an error."""
        self.late_pongs += 1

    def final_figures(self) -> dict[str, float]:
        """Hook: whole-run figures the metronome collects when the run ends."""
        return {}
