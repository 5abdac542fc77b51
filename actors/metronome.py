"""The metronome: starts tick 0 once every peer is ready and subscribed, then publishes
timesteps. Lockstep: the next tick when every actor reported the tick done (deterministic).
Real time: a fixed wall period per tick (tick length / factor); a late actor misses the
tick. It is also the run's recorder: every TickDone goes to the state log.

A peer that dies is not waited for: while a lockstep tick waits, the metronome probes the
peers it still waits for, and one whose connection is gone (tcp heartbeats, or the process
died) is absent until it rejoins. A peer that says Ready again mid-run restarted: it is
counted again from the first tick published after it acknowledged a sync probe, so it never
misses a tick it is waited for. The metronome's links are exempt from every network fault,
so an absent peer is a dead one, never a partitioned one. The state log still has one row
per tick and actor: a tick an absent peer did not report gets a row with `absent` = 1 and no
figures (replaced by its TickDone, should that still come)."""

from __future__ import annotations

import asyncio
import logging
import time

import zmq

from scowl import wire
from scowl.errors import ActorError
from scowl.plan import RunPlan
from scowl.roles import role_of
from scowl.runtime import Actor, on

log = logging.getLogger("scowl.metronome")


class Metronome(Actor):
    role = "metronome"

    def __init__(self, name: str, address: str, plan: RunPlan, ticks: int, tick_seconds: float,
                 pacing: str = "lockstep", factor: float = 1.0, progress=None, liveness_s: float = 0.5, **kw) -> None:
        super().__init__(name, address, **kw)
        self.plan = plan
        self.ticks = ticks
        self.tick_seconds = tick_seconds
        self.pacing = pacing
        self.factor = factor
        self.progress = progress
        self.expected = set(plan.names())
        self.liveness_s = liveness_s  # lockstep: how long a tick waits before probing whom it waits for
        self.absent: set[str] = set()  # peers gone (dead, or restarted and not yet counted again)
        self._back: dict[str, int] = {}  # restarted peer -> the first tick it is counted at again
        self.rejoins: list[tuple[str, int, int]] = []  # (peer, tick it said Ready at, tick counted again)
        self._stand_ins: dict[tuple[int, str], int] = {}  # (tick, absent peer) -> its row in the state log
        self.ready: set[str] = set()
        self.records: list[dict] = []  # the state log: one row per (tick, actor)
        self.finals: dict[str, dict] = {}
        self.late: dict[str, int] = {}  # realtime: TickDone that came after the next tick started
        self._done: dict[int, set[str]] = {}
        self._all_ready = asyncio.Event()
        self._tick_done = asyncio.Event()
        self.current = -1
        self.finished = asyncio.Event()
        self.wall_start = 0.0
        self.wall_seconds = 0.0
        self.tick_wall: list[float] = []
        self._gate: zmq.Socket | None = None

    async def on_start(self) -> None:
        self.pub_address = await self.bind_pub(self.plan.metronome_pub)
        self._spawn(self._run())

    @on(wire.Ready)
    def on_ready(self, msg: wire.Ready, env: wire.Envelope):
        if msg.name not in self.expected:
            raise ValueError(f"ready from {msg.name}, which is not in this run's plan")
        if self.current >= 0:  # the run is under way: the peer restarted
            self._rejoin(msg.name)
            return wire.Registered(True, "rejoined")
        self.ready.add(msg.name)
        if self.ready == self.expected:
            self._all_ready.set()
        return wire.Registered(True)

    @on(wire.TickDone)
    def on_tick_done(self, msg: wire.TickDone, env: wire.Envelope):
        row = {"tick": msg.tick, "actor": env.sender, "role": msg.role, **msg.figures}
        stand_in = self._stand_ins.pop((msg.tick, env.sender), None)
        if stand_in is None:
            self.records.append(row)
        else:
            self.records[stand_in] = row
        if msg.tick < self.current:
            self.late[env.sender] = self.late.get(env.sender, 0) + 1
        if env.sender in self.absent and env.sender not in self._back and msg.tick >= self.current:
            self.absent.discard(env.sender)  # it was only cut off for a while, and follows the ticks
        done = self._done.setdefault(msg.tick, set())
        done.add(env.sender)
        self._check_done()

    def _counted(self) -> set[str]:
        return self.expected - self.absent

    def _check_done(self) -> None:
        if self.current >= 0 and self._done.get(self.current, set()) >= self._counted():
            self._tick_done.set()

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
            return
        self._back[name] = self.current + 1
        self.rejoins.append((name, said_ready, self.current + 1))
        log.warning("%s: %s is counted again from tick %d", self.name, name, self.current + 1)

    def _stand_in_for_absent(self, tick: int) -> None:
        done = self._done.get(tick, set())
        for name in sorted(self.absent - done):
            self._stand_ins[(tick, name)] = len(self.records)
            self.records.append({"tick": tick, "actor": name, "role": role_of(self.plan, name), "absent": 1.0})

    def _check_liveness(self) -> None:
        """Lockstep, a tick taking long: a peer still awaited whose connection is gone is
        absent; the others are probed, so the next check knows."""
        for name in sorted(self._counted() - self._done.get(self.current, set())):
            if self.has_route(name):
                self.probe(name)
            else:
                log.warning("%s: %s is gone at tick %d (its connection closed); not waiting for it", self.name, name, self.current)
                self.absent.add(name)
        self._check_done()

    async def _run(self) -> None:
        await self._all_ready.wait()
        await self.await_subscribers(self.expected, timeout=120)
        self.wall_start = time.perf_counter()
        period = self.tick_seconds / self.factor
        if self.progress is not None:
            self.progress(0, self.ticks)
        for tick in range(self.ticks):
            t0 = time.perf_counter()
            self.current = tick
            self._tick_done.clear()
            for name in [n for n, back in self._back.items() if 0 <= back <= tick]:
                del self._back[name]
                self.absent.discard(name)
            self._check_done()
            self.clock.advance_to(tick)
            if self.plan.fault_gate:
                await self._pass_gate(tick)
            self.publish(wire.Tick(tick, tick * self.tick_seconds, tick == self.ticks - 1))
            if self.pacing == "lockstep":
                while not self._tick_done.is_set():
                    try:
                        await asyncio.wait_for(self._tick_done.wait(), self.liveness_s)
                    except TimeoutError:
                        self._check_liveness()
            else:
                deadline = self.wall_start + (tick + 1) * period
                try:
                    await asyncio.wait_for(self._tick_done.wait(), max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    pass
                await asyncio.sleep(max(0.0, deadline - time.perf_counter()))
            self._stand_in_for_absent(tick)
            self.tick_wall.append(time.perf_counter() - t0)
            if self.progress is not None:
                self.progress(tick + 1, self.ticks)
        if self.pacing != "lockstep":  # give stragglers one period to report the last tick
            try:
                await asyncio.wait_for(self._tick_done.wait(), period + 5)
            except TimeoutError:
                pass
        self.wall_seconds = time.perf_counter() - self.wall_start
        names = sorted(self._counted())
        for name in sorted(self.absent):
            log.error("no final figures from %s: it was gone at the end of the run", name)
        replies = await asyncio.gather(*(self.request(n, wire.FinalQuery(), timeout=60) for n in names), return_exceptions=True)
        for name, reply in zip(names, replies):
            if isinstance(reply, wire.FinalFigures):
                self.finals[name] = {"role": reply.role, **reply.figures}
            else:
                log.error("no final figures from %s: %s", name, reply)
        if self.plan.out_dir:
            from scowl.results import write_results
            from scowl.run import run_meta

            scenario = self.plan.scenario()
            write_results(self.plan.out_dir, self.records, self.finals, run_meta(self.plan, scenario, self.wall_seconds, self.late, self.tick_wall))
        for name in sorted(self.expected):
            self.send(name, wire.Stop("run finished"))
        await self.flush()
        if self._gate is not None:
            self._gate.close(linger=0)
        self.finished.set()

    async def _pass_gate(self, tick: int, timeout_s: float = 60.0) -> None:
        """Multi-host runs: the network faults live in the kernel, applied by a driver outside
        the run. Ask it (`tick N` -> `ok`) before publishing each tick, so a partition starts
        and heals exactly at its ticks however fast the ticks go."""
        if self._gate is None:
            self._gate = self._ctx.socket(zmq.REQ)
            self._gate.linger = 0
            self._gate.connect(self.plan.fault_gate)
        await self._gate.send_string(f"tick {tick}")
        if not await self._gate.poll(timeout_s * 1000):
            raise ActorError(f"{self.name}: the fault driver at {self.plan.fault_gate} did not answer tick {tick} "
                             f"within {timeout_s:g} s")
        await self._gate.recv()
