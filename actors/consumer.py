"""A consumer population: one actor speaking for a shard of homes and businesses (plus a
share of the fixed industrial/transportation load, as ~1 MW blocks), all as numpy arrays.
Every consumer keeps its own 128-bit id on the wire.

Each tick: step demand (scowl.model); report to each consumer's tracker the consumers whose
demand moved past the report threshold; once every tracker's Assign is in, follow it and
tell each fleet what its generators carry (Draw); once every fleet's Verdict is in, count
served, starved and choked (in a blacked-out tree) consumers and report the tick done."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from scowl import wire
from scowl.actors.assign_inbox import AssignInbox
from scowl.actors.peer import Gather, GridPeer
from scowl.actors.population_ids import IdSpace
from scowl.actors.population_reports import BLOCK, Reports
from scowl.actors.population_rows import GeneratorRows
from scowl.analysis.service import LatencyBook, ServiceBooks
from scowl.balance import response
from scowl.balance.sharding import consumer_zone_buckets, first_trackers
from scowl.errors import ActorError
from scowl.model import DemandModel, build_population, demand_shares
from scowl.model.population import KIND_NAMES
from scowl.model.zones import ZONES, consumer_zones
from scowl.runtime import on
from scowl.streams import StreamRepo

REGISTER_CHUNK = 100_000
CLASS_NAMES = (*KIND_NAMES, "fixed load")  # customer classes: homes, commercial buildings, fixed-load blocks
#: Assigns are followed in blocks of this many: a tick's are a few tens of thousands, tick 0's name
#: every consumer while its frames are all held (the population's peak): ~1 MB temporaries a block
FOLLOW_BLOCK = 1 << 16

log = logging.getLogger("scowl.consumer")


class Population(GridPeer):
    role = "consumer"

    def __init__(self, name, plan, scenario, address, shard) -> None:
        super().__init__(name, plan, scenario, address)
        self.shard = shard
        repo = StreamRepo(scenario.seed)
        self.pop = build_population(scenario, repo, start=shard.start, stop=shard.stop)
        self.model = DemandModel(self.pop, scenario, repo)
        n_c = shard.stop - shard.start
        n_f = shard.fixed_stop - shard.fixed_start
        self.n_consumers = n_c
        self.n = n_c + n_f
        # global index: consumers first, then fixed-load blocks after every consumer. Both ranges
        # are contiguous, so a consumer's global index and 128-bit id are computed from its
        # position (global_at, ids_at) instead of being stored (24 bytes a consumer saved)
        self.fixed_mw = np.float32(plan.fixed_block_mw)
        self.space = IdSpace(shard.start, n_c, n_f, shard.fixed_start, plan.n_consumers)  # positions <-> global index, ids
        self.demand = np.zeros(self.n, dtype=np.float32)  # MW, this tick
        self.reported = np.zeros(self.n, dtype=np.float32)  # MW, last value the tracker got
        self.on = GeneratorRows(self.n)  # the generator each consumer is on (gen_row, gen_table)
        self.mgr = np.zeros(self.n, dtype=np.uint8)  # index into plan.trackers
        self.books = ServiceBooks(self.n)  # served, starved, choked, starvation spells per consumer
        self.latency = LatencyBook()  # demand report -> assignment, wall ms
        self.threshold = np.float32(scenario.trackers.report_threshold)
        self.reports = Reports(self.space, len(plan.trackers))  # which consumers report, each tick
        self.assigns = AssignInbox(plan.trackers)  # (and, in real time, the trackers' continuous rounds')
        self.verdicts = Gather([f.name for f in plan.fleets], "verdict")
        self.tracker_index = {t: i for i, t in enumerate(plan.trackers)}
        self.flex = response.Flex.of(demand_shares(scenario), scenario.tick_seconds)
        self.dr: response.Deferral | None = None  # allocated when a consumer first loses its tracker
        self.choked = np.zeros(self.n, dtype=bool)  # warned by capacity_low, not yet unchoked
        self.base_mw = 0.0  # this tick's demand before demand response (the day's input), MW
        self.tick_hours = scenario.tick_seconds / 3600.0
        self.tick_now = -1
        self._followed = -1
        self._finished = -1
        self.reports_sent = 0
        self.resyncs = 0
        self._resync_due: set[str] = set()  # trackers back from a partition, told the truth after the next Assign
        self.unknown_ids = 0
        self._tick_figures: dict[int, dict] = {}

    @property
    def gen_row(self) -> np.ndarray:
        """Per consumer: the row of gen_table of the generator it is on (0: none)."""
        return self.on.row

    @property
    def gen_table(self) -> np.ndarray:
        return self.on.table

    def global_at(self, pos) -> np.ndarray:  # (scowl.actors.population_ids)
        return self.space.global_at(pos)

    def ids_at(self, pos) -> np.ndarray:
        return self.space.ids_at(pos)

    def local_index(self, ids: np.ndarray) -> np.ndarray:
        return self.space.local_index(ids)

    async def setup(self) -> None:
        first = int(self.global_at(0)) if self.n else 0
        joined = await self.request("bootstrap", wire.ConsumerJoin(self.name, first, self.n), timeout=60, reply=wire.ConsumerIds)
        self.space.hi = np.uint64(joined.hi)
        log.info("%s: consumer ids hi=%d lo=%d..%d", self.name, int(joined.hi), first, int(self.global_at(self.n - 1)) if self.n else -1)
        placement = await self.request("broker", wire.PlaceConsumers(self.name, self.n), timeout=600, reply=wire.Placement)
        directory = await self.lookup()
        for name, (role, address, pub) in sorted(directory.items()):
            if role in ("tracker", "generator", "storage"):
                await self.connect(name, address)
            if role in ("generator", "storage"):
                await self.subscribe(pub, (wire.Verdict,), publisher=name)
        # (trackers by hash: no n-wide global index made for zones nobody asks for)
        zones = consumer_zone_buckets(self.global_at(np.arange(self.n)), self.scenario, len(placement.counts)) \
            if self.scenario.trackers.assign == "zone" else None
        bucket = first_trackers(placement.counts, np.r_[self.pop.kind, np.full(self.n - self.n_consumers, 255, dtype=np.uint8)], zones)
        del zones
        self.mgr[:] = np.array([self.tracker_index[t] for t in placement.trackers], dtype=np.uint8)[bucket]
        del bucket  # (int64 a consumer: the registrations below take each tracker's from mgr, a byte a consumer)
        if not self.rejoining:
            self._first_demand()
        for tracker in placement.trackers:  # (a population that rejoins asks every tracker instead)
            pos = np.flatnonzero(self.mgr == self.tracker_index[tracker]) if not self.rejoining else np.zeros(0, dtype=np.int64)
            for a in range(0, pos.size, REGISTER_CHUNK):
                await self.request(tracker, wire.ConsumersRegister.pack(ids=self.ids_at(pos[a:a + REGISTER_CHUNK]),
                                                                        demand_mw=self.reported[pos[a:a + REGISTER_CHUNK]]), timeout=120)
        if self.rejoining:
            await self._find_consumers()

    async def _find_consumers(self) -> None:
        """Restarted mid-run: our consumers' trackers and generators are gone from memory.
        Ask every tracker (consumers move between trackers): each answers for those it holds.
        The ones none holds are being handed over; the taker's next Assign places them."""
        held = 0
        for tracker in self.plan.trackers:
            for a in range(0, self.n, REGISTER_CHUNK):
                b = min(self.n, a + REGISTER_CHUNK)
                truth = await self.request(tracker, wire.ConsumersRegister.pack(ids=self.ids_at(slice(a, b)), demand_mw=self.reported[a:b]), timeout=120,
                                           reply=wire.Resync)
                pos = self.local_index(truth.column("ids"))
                if np.any(pos < 0):
                    raise ValueError(f"{tracker} answered for {int(np.count_nonzero(pos < 0))} consumers that are not {self.name}'s")
                self.mgr[pos] = self.tracker_index[tracker]
                self.on.move(pos, truth.column("gen_ids"), self.global_at(pos))
                self.reported[pos] = truth.column("demand_mw")
                held += pos.size
        log.warning("%s: rejoined; the trackers hold %d of its %d consumers (%d on a generator)", self.name, held, self.n,
                    int(np.count_nonzero(self.gen_row)))

    async def prepare(self) -> None:
        await self.connect("bootstrap", self.plan.bootstrap)

    # ---------------------------------------------------------------- per tick

    def on_tick(self, tick: int):
        self.tick_now = tick
        while self.model.tick < tick - 1:  # restarted mid-run: the demand streams again up to here
            self.model.step(self.model.tick + 1)
        if self.model.tick < tick:  # (tick 0's was stepped before registering)
            self._demand(tick)
        self._report(tick)
        self._advance_later(tick + 1)
        self.arm(tick, "assign", 0.55, lambda: self.assigns.missing(tick), self._maybe_follow, hops=3)
        self._maybe_follow(tick)  # assignments for this tick may have come before the tick

    def _first_demand(self) -> None:
        """Tick 0's demand, before the consumers register with it: tick 0's reports then carry
        only what changed since registering (nothing), not every consumer a second time."""
        self._demand(0)
        self.reported[:] = self.demand

    def _advance_later(self, tick: int) -> None:
        """While the trackers round: the next tick's demand state (scowl.model.DemandModel.advance),
        a block per turn of the event loop, so it fills the time this process would wait and
        delays a message that comes meanwhile by one block's work at most. What is not done when
        the tick comes, its step does; the values are the same either way."""
        if tick >= self.scenario.ticks or self.model.tick != tick - 1:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # (driven without a loop: the step does it all)
            return

        def block() -> None:
            if self.model.tick == tick - 1 and not self.model.advance(tick, blocks=1):
                loop.call_soon(block)

        loop.call_soon(block)

    def _demand(self, tick: int) -> None:
        """This tick's demand (MW) of every consumer and block, after demand response."""
        d = self.demand
        nc = self.n_consumers
        # kW straight into the demand array (then MW in place), unless demand response needs the kW
        kw = self.model.step(tick, out=None if self.dr is not None else d[:nc])
        np.divide(kw, np.float32(1000.0), out=d[:nc])
        d[nc:] = self.fixed_mw
        self.base_mw = float(np.sum(d, dtype=np.float64))
        if self.dr is not None:  # self-optimizing consumers consume what their allowance lets them
            np.divide(response.consume(self.dr, self.flex, kw, tick, self.tick_hours), np.float32(1000.0), out=d[:nc])

    def _report(self, tick: int) -> None:
        """Tell each tracker the demand of its consumers that moved past the report threshold."""
        moved = self.reports.moved_past_threshold(self.demand, self.reported, self.threshold, self.mgr)
        for tracker, (lo, mw) in zip(self.plan.trackers, moved, strict=True):
            self.reports_sent += lo.size
            # compact ids (one high word, uint32 global indices): 4 bytes an id to send and encrypt, not 16;
            # (copy=False: the report's arrays are its own; sending encodes them at once)
            self.send(tracker, wire.DemandReport.pack_compact(hi=int(self.space.hi), lo=lo, copy=False, tick=tick, demand_mw=mw))
            del lo, mw  # (before the next tracker's are joined)
        self.latency.reported(tick, time.perf_counter())

    @on(wire.Assign)
    def on_assign(self, msg: wire.Assign, env: wire.Envelope):
        self.heard(env.sender)
        self.assigns.add(msg.tick, env.sender, (env.sender, msg))
        self._maybe_follow(msg.tick)

    def _maybe_follow(self, tick: int) -> None:
        if tick == self.tick_now and self._followed != tick and (self.assigns.complete(tick) or self.expired(tick, "assign")):
            self._follow(tick)

    def _follow(self, tick: int) -> None:
        self._followed = tick
        self.latency.assigned(tick, time.perf_counter())
        self.missed(self.assigns.missing(tick))
        for sender, lo, hi, gens in self.assigns.words(tick):  # (tick, sender) order, handed words first: deterministic
            for a in range(0, len(lo), FOLLOW_BLOCK):  # in blocks (tick 0 names every consumer): the temporaries stay small
                pos = self.space.positions(lo[a:a + FOLLOW_BLOCK], hi if isinstance(hi, int) else hi[a:a + FOLLOW_BLOCK])
                mine = pos >= 0
                self.unknown_ids += int(mine.size - np.count_nonzero(mine))
                pos, gen = pos[mine], gens[a:a + FOLLOW_BLOCK][mine]
                # a tracker that names a consumer holds it from now on: it placed it, starved it, or
                # took it over from a peer (handover). A giver's word about a consumer it handed out
                # comes first, so the taker's word (if it took it) is the last (actors/assign_inbox).
                self.on.move(pos, gen, lo[a:a + FOLLOW_BLOCK][mine])
                self.mgr[pos] = self.tracker_index[sender]
        if self._resync_due:
            self._send_resyncs()
        gens, draw = self._draws()
        msg = wire.Draw.pack(tick=tick, gen_ids=gens, draw_mw=draw)
        for fleet in sorted(self.verdicts.expected_at(tick)):  # the planned fleets, and those that joined, not those that left
            try:
                self.send(fleet, msg)
            except ActorError as exc:  # a joiner that never said hello to us: no way to reach it
                self.stats.unroutable += 1
                log.error("%s: no draw to %s at tick %d: %s", self.name, fleet, tick, exc)
        self.arm(tick, "verdict", 0.95, lambda: self.verdicts.missing(tick), self._maybe_finish, hops=5)
        self._maybe_finish(tick)

    def _draws(self) -> tuple[np.ndarray, np.ndarray]:
        """What our consumers draw from each generator they are on (MW): the generators with a
        member, sorted by id. In blocks, over a table of the generator ids in use."""
        t = len(self.gen_table)
        draw = np.zeros(t, dtype=np.float64)
        for a in range(0, self.n, BLOCK):
            draw += np.bincount(self.gen_row[a:a + BLOCK], weights=self.demand[a:a + BLOCK], minlength=t)
        keep = np.flatnonzero(self.on.members)
        keep = keep[keep != 0]  # row 0: starved, on no generator
        order = np.argsort(self.gen_table[keep], kind="stable")
        return self.gen_table[keep][order], draw[keep][order]

    def on_members(self, tick: int, joined: dict[str, str], left: list[str]) -> None:
        """Joined fleets get our draws and are waited for from `tick` on; fleets and trackers gone, no longer."""
        for name, role in sorted(joined.items()):
            if role in ("generator", "storage"):
                self.verdicts.join(name, tick)
        for name in left:  # a fleet that left or died, or a dead tracker (its Assign never comes)
            self.verdicts.leave(name, tick)
            self.assigns.leave(name, tick)

    @on(wire.Verdict)
    def on_verdict(self, msg: wire.Verdict, env: wire.Envelope):
        self.heard(env.sender)  # the authenticated fleet (the authorization table holds msg.fleet to it)
        self.verdicts.add(msg.tick, env.sender, msg)
        self._maybe_finish(msg.tick)

    def self_optimizing(self) -> np.ndarray:
        """Consumers whose tracker is unreachable: they are self-optimizing."""
        lost = [self.tracker_index[t] for t in self.unreachable if t in self.tracker_index]
        return np.isin(self.mgr, lost) if lost else np.zeros(self.n, dtype=bool)

    def on_unreachable(self, peer: str) -> None:
        super().on_unreachable(peer)
        if peer in self.tracker_index and self.dr is None:
            self.dr = response.Deferral.new(self.n_consumers, len(self.flex.uses))

    def on_reachable(self, peer: str) -> None:
        """Our lost tracker is back: tell it the truth about its consumers (what it decided
        meanwhile never reached them), and report their demand afresh."""
        super().on_reachable(peer)
        if peer not in self.tracker_index:
            return
        # Not now: the message that brought the tracker back may be this tick's Assign, made
        # after the tracker's newest placements; the truth is where our consumers are once it
        # is followed (a Resync sent before it overwrote those placements in the tracker's trees).
        self._resync_due.add(peer)

    def _send_resyncs(self) -> None:
        for peer in sorted(self._resync_due):
            sel = np.flatnonzero(self.mgr == self.tracker_index[peer])
            self.reported[sel] = self.demand[sel]
            self.send(peer, wire.Resync.pack(ids=self.ids_at(sel), demand_mw=self.demand[sel], gen_ids=self.gen_table[self.gen_row[sel]]))
            self.resyncs += 1
        self._resync_due.clear()

    def _maybe_finish(self, tick: int) -> None:
        if tick != self.tick_now or self._followed != tick or self._finished == tick:
            return
        if not self.verdicts.complete(tick) and not self.expired(tick, "verdict"):
            return
        self._finished = tick
        self.missed(self.verdicts.missing(tick))
        verdicts = self.verdicts.take(tick, older=False)
        choked_gens = np.array(sorted({g for v in verdicts for g in v.choked}), dtype=np.int32)
        low = np.array(sorted({g for v in verdicts for g in v.capacity_low}), dtype=np.int32)
        ok = np.array(sorted({g for v in verdicts for g in v.unchoked}), dtype=np.int32)
        cut_off = any(t in self.tracker_index for t in self.unreachable)
        self_optimizing = self.self_optimizing() if cut_off else None  # (None: no tracker lost, nobody is)
        dr_events = 0
        if self.dr is not None:  # the demand-response rule: scowl.balance.response.after_verdicts
            nc = self.n_consumers
            rows = self.gen_row[:nc]
            warned = self.on.marked(low)[rows] if low.size else np.zeros(nc, dtype=bool)
            unchoked = self.on.marked(ok)[rows] if ok.size else np.zeros(nc, dtype=bool)
            alone = self_optimizing[:nc] if self_optimizing is not None else np.zeros(nc, dtype=bool)
            dr_events = response.after_verdicts(self.dr, self.choked[:nc], warned, unchoked, alone,
                                                self.scenario.response.decrease_factor, self.scenario.response.increase_step)
        dr = self.dr
        choked_rows = self.on.marked(choked_gens)
        f = self.books.tick_figures()
        for a in range(0, self.n, BLOCK):  # in blocks: the temporaries stay small
            b = min(self.n, a + BLOCK)
            rows = self.gen_row[a:b]
            choked = choked_rows[rows] if choked_gens.size else None
            self.books.count(f, a, b, self.demand[a:b], rows != 0, choked)
        self.done(tick, {
            "consumers": self.n, "demand_mw": self.base_mw, **f, "self_optimizing": int(np.count_nonzero(self_optimizing)) if self_optimizing is not None else 0, "dr_events": dr_events,
            "allowance_mean": float(dr.allowance.mean()) if dr is not None and dr.allowance.size else 1.0,
            "backlog_mwh": dr.outstanding_kwh / 1e3 if dr is not None else 0.0,
            "deferred_mwh_cum": dr.deferred_kwh / 1e3 if dr is not None else 0.0,
            "reports": self.reports_sent, **self.view(),
        })
        self.reports_sent = 0

    def view(self) -> dict[str, float]:
        """Where our consumers are, as we followed the trackers (scowl.balance.views)."""
        return self.on.view_figures()  # kept as the Assigns move them (GeneratorRows.move)

    def final_figures(self) -> dict[str, float]:
        # (count_nonzero per class: bincount would cast every consumer's class byte to an int64 first, 17 MB at the end of a
        # whole-state population's day, the day's peak)
        classes = [*(int(np.count_nonzero(self.pop.kind == k)) for k in range(len(KIND_NAMES))), self.n - self.n_consumers]
        figures = {
            "consumers": self.n, **self.books.final_figures(self.scenario.tick_seconds), **self.latency.figures(),
            "unknown_ids": self.unknown_ids, "resyncs": self.resyncs, "interim_assigns": self.assigns.interim_applied,
            "late_handed": self.assigns.late_handed,  # consumers of handed parts dropped: they came after their tick was followed
            **{f"class_consumers:{name}": int(classes[k]) for k, name in enumerate(CLASS_NAMES)},
            **response.deferral_figures(self.dr, self.tick_now + 1),
        }
        if self.plan.out_dir:  # RUN/consumers-<population>.part, merged into RUN/consumers.parquet by the results
            from scowl.analysis.fairness import PART, write_part

            write_part(Path(self.plan.out_dir) / PART.format(self.name), self.who_starved(),
                       {"customer_class": list(CLASS_NAMES), "region": list(self.plan.trackers), "zone": list(ZONES)})
        return figures

    def who_starved(self) -> Iterator[tuple[str, np.ndarray]]:
        """Every consumer of this population ever starved, choked or deferring, one row each, in
        id order, column by column (call after the deferral books are closed: expired energy is
        final then): numpy only, and no per-consumer temporary wider than a byte."""
        from scowl.analysis.fairness import who_starved_columns

        books = self.books
        ever = (books.starved_ticks > 0) | (books.choked_ticks > 0)
        if self.dr is not None:
            ever[: self.n_consumers] |= self.dr.deferred_by > 0
        rows = np.flatnonzero(ever)
        del ever
        mine = rows[rows < self.n_consumers]  # consumers first, then fixed-load blocks (no deferral, no class)
        kwh = np.zeros((2, rows.size))
        if self.dr is not None:
            kwh[:, : mine.size] = self.dr.deferred_by[mine], self.dr.expired_by[mine]
        kinds = np.concatenate([self.pop.kind[mine], np.full(rows.size - mine.size, len(KIND_NAMES), np.uint8)])
        zones = consumer_zones(self.global_at(rows), self.scenario.seed)  # a pure function of the index: a byte per row, none stored
        yield from who_starved_columns(self.ids_at(rows), kinds, self.mgr[rows], zones, books.starved_ticks[rows], books.spells[rows],
                                       books.choked_ticks[rows], kwh[0], kwh[1], float(self.scenario.tick_seconds))
