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
figures (replaced by its TickDone, should that still come).

No wait without a deadline. Every tick's rows go to the journal of the durable state log as
the tick ends (scowl.statelog), so a killed run keeps every tick before it. A tick that waits
`report_after_s` says on the terminal whom it waits for; at `tick_deadline_s` the peers still
awaited are declared lost (the degraded rule: absent, as a dead peer) and the day goes on.
Waiting for the peers to start has a deadline too (`start_deadline_s`; one that died before
tick 0 ends the run sooner: actors.starting). A failure of the
metronome itself (the disk is full, a final report it cannot read) ends the run on purpose:
the reason is in `failure`, the peers are sent Stop, and what was recorded is written, marked
partial. Interrupted (a signal, the node stopping), it writes what it gathered, marked partial.
Every peer found gone is listed in `deaths` (and in the summary) with the tick it was lost at;
one not back within `death_grace_s` is declared dead and every peer told (actors.membership)."""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

import zmq
import zmq.asyncio

from scowl import wire
from scowl.actors.membership import OpenMembership
from scowl.actors.starting import StartFailed, StartWait
from scowl.analysis.deaths import death_costs
from scowl.analysis.meta import run_meta
from scowl.errors import ActorError
from scowl.plan import RunPlan
from scowl.runtime import on
from scowl.statelog import JOURNAL, StateJournal, StateLogError

#: lockstep: a tick waiting this long says whom it waits for; at the deadline they are lost
REPORT_AFTER_S = 10.0
TICK_DEADLINE_S = 120.0
#: every peer must be ready and subscribed within this long of the metronome's start
START_DEADLINE_S = 300.0
DEATH_GRACE_S = 20.0  # scenario key response.death_grace_s
FINALS_TIMEOUT_S = 30.0

log = logging.getLogger("scowl.metronome")


class Metronome(StartWait, OpenMembership):
    role = "metronome"

    def __init__(self, name: str, address: str, plan: RunPlan, ticks: int, tick_seconds: float,
                 pacing: str = "lockstep", factor: float = 1.0, progress=None, liveness_s: float = 0.5,
                 tick_deadline_s: float = TICK_DEADLINE_S, report_after_s: float = REPORT_AFTER_S,
                 start_deadline_s: float = START_DEADLINE_S, death_grace_s: float = DEATH_GRACE_S, say=None,
                 **kw) -> None:
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
        self._gate: zmq.asyncio.Socket | None = None
        self.tick_deadline_s = tick_deadline_s
        self.report_after_s = report_after_s
        self.start_deadline_s = start_deadline_s
        self.death_grace_s = death_grace_s  # a peer lost this long (and not back) is declared dead
        self.say = say or _say
        self.deaths: list[dict] = []  # every peer found gone: {peer, role, tick, how}
        self.failure: str | None = None  # why the run ended before its last tick (None: it did not)
        self.stop_reason: str | None = None  # set by whoever stops us (a signal) before stopping
        self.ticks_completed = 0
        self.journal: StateJournal | None = None
        self.results_written = False
        self._run_task: asyncio.Task | None = None
        self._init_membership()

    async def on_start(self) -> None:
        self.pub_address = await self.bind_pub(self.plan.metronome_pub)
        if self.plan.out_dir:
            self.journal = StateJournal(Path(self.plan.out_dir) / JOURNAL)
        self._run_task = self._spawn(self._run())

    def _record(self, row: dict, at: int | None = None) -> None:
        """A row of the state log: in memory (at `at`, replacing a stand-in) and to the journal."""
        if at is None:
            self.records.append(row)
        else:
            self.records[at] = row
        if self.journal is not None:
            self.journal.append(row)

    @on(wire.Ready)
    def on_ready(self, msg: wire.Ready, env: wire.Envelope):
        if msg.name not in self.expected:
            return self._admit(msg, env)
        if self.current >= 0:  # the run is under way: the peer restarted
            self._rejoin(msg.name)
            return wire.Registered(True, "rejoined")
        self.ready.add(msg.name)
        if self.ready == self.expected:
            self._all_ready.set()
        return wire.Registered(True)

    @on(wire.TickDone)
    def on_tick_done(self, msg: wire.TickDone, env: wire.Envelope):
        if env.sender in self.dead_at:  # declared dead and the others told: it is not counted again
            log.warning("%s: tick-done %d from %s, declared dead at tick %d: ignored", self.name, msg.tick, env.sender,
                        self.dead_at[env.sender])
            return
        row = {"tick": msg.tick, "actor": env.sender, "role": msg.role, **msg.figures}
        stand_in = self._stand_ins.pop((msg.tick, env.sender), None)
        self._record(row, stand_in)
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

    def _stand_in_for_absent(self, tick: int) -> None:
        done = self._done.get(tick, set())
        for name in sorted(self.absent - done):
            self._stand_ins[(tick, name)] = len(self.records)
            self._record({"tick": tick, "actor": name, "role": self._role_of(name), "absent": 1.0})

    def _check_liveness(self) -> None:
        """Lockstep, a tick taking long: a peer still awaited whose connection is gone is
        absent; the others are probed, so the next check knows."""
        gone = []
        for name in sorted(self._counted() - self._done.get(self.current, set())):
            if self.has_route(name):
                self.probe(name)
            else:
                log.warning("%s: %s is gone at tick %d (its connection closed); not waiting for it", self.name, name, self.current)
                self._lost(name, "its connection closed (the process died or was killed)")
                gone.append(name)
        if gone:  # the peers waiting for its messages this tick need not wait out their deadlines
            self.publish(wire.Gone(self.current, gone))
        self._check_done()

    def _waiting_for(self) -> list[str]:
        return sorted(self._counted() - self._done.get(self.current, set()))

    async def _run(self) -> None:
        """The day, then the results; whatever happens, the peers are told to stop."""
        try:
            await self._day()
        except asyncio.CancelledError:
            raise  # stopped from outside: on_stop writes what was gathered
        except (StateLogError, StartFailed) as exc:
            self.failure = str(exc)
        except Exception as exc:
            log.exception("%s: the run failed", self.name)
            self.failure = f"the metronome failed at tick {self.current}: {type(exc).__name__}: {exc}"
        if self.failure is not None:
            self.say(f"error: {self.failure}")
        try:
            if self.failure is None:
                await self._collect_finals()
            self._write_results(partial=self.failure is not None, reason=self.failure)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("%s: writing the results failed", self.name)
            self.failure = self.failure or f"writing the results failed: {type(exc).__name__}: {exc}"
            self.say(f"error: {self.failure}")
        await self._stop_everyone("run finished" if self.failure is None else f"run failed: {self.failure}")
        self.finished.set()

    async def _await_tick(self, tick: int) -> None:
        """Lockstep: until every counted peer reported `tick`, probing the silent ones; says
        whom it waits for after `report_after_s`; at `tick_deadline_s` they are lost."""
        t0 = time.monotonic()
        reported = False
        while not self._tick_done.is_set():
            try:
                await asyncio.wait_for(self._tick_done.wait(), self.liveness_s)
            except TimeoutError:
                self._check_liveness()
            waited = time.monotonic() - t0
            if self._tick_done.is_set():
                break
            if waited >= self.tick_deadline_s:
                for name in self._waiting_for():
                    self._lost(name, f"no report of tick {tick} within {self.tick_deadline_s:g} s (connection open, peer silent)")
                self._check_done()
            elif waited >= self.report_after_s and not reported:
                reported = True
                waiting = self._waiting_for()
                self.say(f"tick {tick} waits {waited:.0f} s for {', '.join(waiting[:10])}{' ...' if len(waiting) > 10 else ''} "
                         f"(lost at {self.tick_deadline_s:g} s)")

    async def _day(self) -> None:
        await self._await_start()
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
            joined, roles, left = self._change_members(tick)
            self._check_done()
            self.clock.advance_to(tick)
            if self.plan.fault_gate:
                await self._pass_gate(tick)
            self.publish(wire.Tick(tick, tick * self.tick_seconds, tick == self.ticks - 1, joined, roles, left))
            if self.pacing == "lockstep":
                await self._await_tick(tick)
            else:
                deadline = self.wall_start + (tick + 1) * period
                try:
                    await asyncio.wait_for(self._tick_done.wait(), max(0.0, deadline - time.perf_counter()))
                except TimeoutError:
                    self._check_liveness()  # a late peer is probed; one whose connection closed is lost
                await asyncio.sleep(max(0.0, deadline - time.perf_counter()))
            self._stand_in_for_absent(tick)
            if self.journal is not None:
                self.journal.write(tick)  # StateLogError (disk full) ends the run
            self.ticks_completed = tick + 1
            self.tick_wall.append(time.perf_counter() - t0)
            if self.progress is not None:
                self.progress(tick + 1, self.ticks)
        if self.pacing != "lockstep":  # give stragglers one period to report the last tick
            try:
                await asyncio.wait_for(self._tick_done.wait(), period + 5)
            except TimeoutError:
                pass
        self.wall_seconds = time.perf_counter() - self.wall_start

    async def _collect_finals(self) -> None:
        await asyncio.gather(*self._goodbyes, return_exceptions=True)  # the last word of peers that left
        names = sorted(self._counted())
        for service in ("bootstrap", "broker"):  # their finals are what they rejected
            try:
                await self.connect(service, getattr(self.plan, service), timeout=5)
                names.append(service)
            except ActorError as exc:
                log.warning("no final figures from %s: %s", service, exc)
        for name in sorted(self.absent | set(self.dead_at)):
            log.error("no final figures from %s: it was gone at the end of the run", name)
        replies = await asyncio.gather(*(self.request(n, wire.FinalQuery(), timeout=FINALS_TIMEOUT_S) for n in names),
                                       return_exceptions=True)
        for name, reply in zip(names, replies):
            if isinstance(reply, wire.FinalFigures):
                self.finals[name] = {"role": reply.role, **reply.figures}
            else:
                log.error("no final figures from %s: %s", name, reply)
        self.finals[self.name] = {"role": self.role, **self.service_figures()}
        from scowl.analysis.results import missing_final_keys

        for name, keys in missing_final_keys(self.finals).items():
            self.say(f"{name}'s final report lacks {', '.join(keys)}: counted as 0 and named in the summary (finals_missing)")

    def _write_results(self, partial: bool, reason: str | None) -> None:
        """state.parquet, finals.json and summary.json (atomically); the journal goes once
        state.parquet is in place. Partial: marked so, with the reason and ticks completed."""
        if not self.plan.out_dir or self.results_written:
            return
        from scowl.analysis.results import write_results

        if self.journal is not None:
            self.journal.close()
        if self.wall_seconds == 0.0 and self.wall_start:
            self.wall_seconds = time.perf_counter() - self.wall_start
        scenario = self.plan.scenario()
        meta = run_meta(self.plan, scenario, self.wall_seconds, self.late, self.tick_wall)
        meta["deaths"] = death_costs(self.deaths, self.records, self.rejoins, self.tick_seconds)
        meta["partial"] = {"interrupted": reason, "ticks_completed": self.ticks_completed, "ticks_planned": self.ticks} if partial else None
        if self.joined_at or self.left_at:
            meta["membership"] = self.membership()
        records = self.records
        if partial:  # only the ticks completed: a tick cut short would look like a quiet one
            records = [r for r in self.records if r["tick"] < self.ticks_completed]
        write_results(self.plan.out_dir, records, self.finals, meta)
        self.results_written = True
        if self.journal is not None:
            self.journal.remove()

    async def _stop_everyone(self, reason: str) -> None:
        for name in sorted(self.expected):
            try:
                self.send(name, wire.Stop(reason))
            except ActorError:
                pass  # no route: it is gone already
        try:
            await asyncio.wait_for(self.flush(), 5.0)
        except TimeoutError:
            log.warning("%s: Stop could not be handed to every peer within 5 s", self.name)
        if self._gate is not None:
            self._gate.close(linger=0)

    async def on_stop(self) -> None:
        """Stopped before the run finished (a signal, the node stopping on an error): write
        what was gathered, marked partial, and tell the peers to stop."""
        if self.finished.is_set():
            return
        if self._run_task is not None and not self._run_task.done() and self._run_task is not asyncio.current_task():
            self._run_task.cancel()
            await asyncio.gather(self._run_task, return_exceptions=True)
        reason = self.stop_reason or f"stopped at tick {max(self.current, 0)} before the last tick (signal or error)"
        self.failure = self.failure or reason
        try:
            self._write_results(partial=True, reason=reason)
            if self.plan.out_dir:
                self.say(f"interrupted ({reason}): partial results of {self.ticks_completed} tick(s) in {self.plan.out_dir}/")
        except Exception as exc:
            log.exception("%s: could not write the partial results", self.name)
            self.say(f"interrupted ({reason}); the partial results could not be written ({exc}); "
                     f"the flushed ticks are in {Path(self.plan.out_dir) / JOURNAL}")
        await self._stop_everyone(f"run interrupted: {reason}")
        self.finished.set()

    async def _pass_gate(self, tick: int, timeout_s: float = 60.0) -> None:
        """Multi-host runs: the network faults live in the kernel, applied by a driver outside
        the run. Ask it (`tick N` -> `ok`) before publishing each tick, so a partition starts
        and heals exactly at its ticks however fast the ticks go."""
        if self._gate is None:
            self._gate = self._context().socket(zmq.REQ)
            self._gate.linger = 0
            self._gate.connect(self.plan.fault_gate)
        await self._gate.send_string(f"tick {tick}")
        if not await self._gate.poll(int(timeout_s * 1000)):
            raise ActorError(f"{self.name}: the fault driver at {self.plan.fault_gate} did not answer tick {tick} "
                             f"within {timeout_s:g} s")
        await self._gate.recv()


def _say(text: str) -> None:
    """The metronome's word on the terminal (and in the trace log)."""
    log.info("%s", text)
    print(f"scowl metronome: {text}", file=sys.stderr, flush=True)
