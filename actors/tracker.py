"""The tracker: a regional controller that rebuilds the ephemeral distribution trees of its
bucket every round. The region (generators, consumers, trees) and the round are pure policy
(scowl.balance.Region, scowl.balance.tracker_round); this actor only moves messages in and out.

One round per tick in two steps. First pass, once every fleet's GenStatus, every population's
DemandReport and (from tick 1) every peer tracker's RegionSummary of the previous tick are in,
applied in sender order: Handover to every peer (the starved it can take now, the served it
takes next tick). Sub-round, once every peer's Handover of this tick is in (sender order): the
starved handed to us are placed on our room; then Assign to populations, TreeDelta + Setpoints
to fleets, RegionSummary to peers. So a consumer a region cannot serve is served by a peer with
room in the same tick, not one tick later.

Real-time pacing adds continuous rounds: whenever statuses or reports come, the tracker
rebalances on them as soon as its loop is free (scowl.balance.continuous), back to back while
updates keep coming, and sends what changed at once (Assign with seq > 0, TreeDelta); the tick's
round still goes once a tick. Lockstep: one deterministic round (and its sub-round) per tick.
"""

from __future__ import annotations

import logging
import time
from functools import partial

import numpy as np

from scowl import balance, wire
from scowl.actors import tracker_out
from scowl.actors.peer import Gather, GridPeer
from scowl.actors.tracker_continuous import ContinuousRounds, gen_update
from scowl.actors.tracker_handover import HandoverTaking
from scowl.actors.tracker_registry import Registration
from scowl.balance import limits
from scowl.errors import Refused
from scowl.model.zones import consumer_zones
from scowl.runtime import on
from scowl.runtime.heap import HeapTrim
from scowl.security.units import planned_units

log = logging.getLogger("scowl.tracker")


class Tracker(Registration, ContinuousRounds, HandoverTaking, GridPeer):
    role = "tracker"

    def __init__(self, name, plan, scenario, address) -> None:
        super().__init__(name, plan, scenario, address)
        self.region = balance.Region(plan.n_global, scenario.scenario.safety_threshold, wire.CONSUMER_ID_DTYPE)
        self.region.drift_bound = scenario.trackers.report_threshold  # (no report is further off: scowl.balance.unseen)
        if scenario.trackers.transfer_limits:  # this tracker's share of every zone interface's limit (limits.limit_shares), x the scale
            owner = limits.zone_owners(len(plan.trackers)) if scenario.trackers.assign == "zone" else None
            share = limits.limit_shares(limits.interfaces().cross, owner, plan.trackers.index(name), len(plan.trackers))
            self.region.limits = balance.ZoneLimits(consumer_zones(np.arange(plan.n_global), scenario.seed), scenario.scenario.scale * share)
        self.peer_trackers = [t for t in plan.trackers if t != name]
        self.summaries = Gather(self.peer_trackers, "region-summary")
        self.gen_status = Gather([], "gen-status")  # the fleets that registered generators with us
        self.reports = Gather([p.name for p in plan.populations], "demand-report")
        # each population's ranges of global indices: its Assign carries its own consumers only
        self._pop_ranges = [r for k, p in enumerate(plan.populations) for r in
                            ((p.start, p.stop, k), (plan.n_consumers + p.fixed_start, plan.n_consumers + p.fixed_stop, k))]
        self.handovers = Gather(self.peer_trackers, "handover")
        self._init_handovers()
        self._first: balance.FirstPass | None = None  # this tick's first pass, until the round is sent
        self._sub: balance.FirstPass | None = None  # after its sub-round, while it waits for peers' answers about our hub parts
        self._first_s = 0.0
        self._heap = HeapTrim()  # (freed heap given back after a round that left much of it)
        # consumers named in tree deltas sent to a fleet while it was unreachable (a partition
        # loses them): when it is heard again it gets where each of them is now, as we see it
        self._unsent: dict[str, list[np.ndarray]] = {}
        self._resend: set[str] = set()
        self._init_continuous()
        self.tick_now = -1
        self._round_done = -1
        self._finished = -1
        self._gone_trackers: set[str] = set()  # peer trackers the metronome declared dead (until they join again)
        self._missing_now = 0
        self.rounds = 0
        self.round_wall = (0.0, 0.0)
        self.round_seconds: list[float] = []
        self._pending_gens: dict[str, wire.GeneratorsRegister] = {}
        self._gen_sender: dict[str, frozenset[int]] = {}  # fleet -> the generator ids it registered
        self.rejoined = 0  # fleets that registered again (restarted) and got their trees back
        self._pending_cons: dict[str, list[wire.ConsumersRegister]] = {}
        self._claimed = np.zeros(plan.n_global, dtype=bool)  # consumers registered, not yet applied
        self._population_hi: dict[str, int] = {}  # each population's id prefix (ids["hi"]), from its registration
        self._planned_fleets = {f.name for f in plan.fleets}
        # whose each planned generator id is: the ids the bootstrap draws for the plan's units (scowl.security.units)
        self._plan_owner = {u.gen_id: u.fleet for u in planned_units(plan, scenario, scenario.seed).values()}
        self._joining: dict[str, wire.GeneratorsRegister] = {}  # joiners' generators, until their tick's `joined`
        self.retired = 0  # generators of fleets that left
        self.rehomed = 0  # consumers that were on them

    async def setup(self) -> None:
        for name, (_role, address, _) in (await self.lookup("tracker")).items():
            if name != self.name:
                await self.connect(name, address)

    # ---------------------------------------------------------------- the round

    @on(wire.GenStatus)
    def on_gen_status(self, msg: wire.GenStatus, env: wire.Envelope):
        self.heard(env.sender)
        self.gen_status.add(msg.tick, env.sender, msg)
        if self.continuous:  # a continuous round on it first, then the tick's round if all is in
            self._fresh_status.append(gen_update(msg))
            return self._kick()
        self._maybe_round(msg.tick)

    @on(wire.DemandReport)
    def on_report(self, msg: wire.DemandReport, env: wire.Envelope):
        self.heard(env.sender)
        self.reports.add(msg.tick, env.sender, msg)
        if self.continuous:
            self._fresh_reports.append(balance.ConsumerBatch(msg.lo_words(), msg.column("demand_mw")))
            return self._kick()
        self._maybe_round(msg.tick)

    @on(wire.Handover)
    def on_handover(self, msg: wire.Handover, env: wire.Envelope):
        self.heard(env.sender)
        why = balance.handover_problem(msg.column("ids"), self.region.n_global)
        if why is not None:  # rejected and counted; the round goes on without it (its deadline)
            raise Refused("invalid_value", f"handover of tick {msg.tick}: {why}")
        if msg.again == 2:  # a second offer of its hub load (actors/tracker_handover.py)
            return self._second_in(env.sender, msg)
        self.handovers.add(msg.tick, env.sender, (env.sender, msg))
        self._maybe_finish(msg.tick)

    @on(wire.Resync)
    def on_resync(self, msg: wire.Resync, env: wire.Envelope):
        """A population we had lost tells us where its consumers really are."""
        hi = self._population_hi.get(env.sender)
        if hi is not None:  # and ours it believes elsewhere learn where they are at the next round
            self.region.reannounce(hi)
        if msg.n:
            self.region.resync(msg.column("ids"), msg.column("demand_mw"), msg.column("gen_ids"))
            # the fleets missed our tree deltas while we were cut off: they get the truth too
            ids, _, gens = self.region.where_are(msg.column("ids"))
            delta = wire.TreeDelta.pack(tick=max(self.tick_now, 0), ids=ids, gen_ids=gens)
            for fleet in sorted(self.gen_status.expected_at(max(self.tick_now, 0))):
                self._note_unsent(fleet, ids)
                self.send(fleet, delta)

    @on(wire.Ping)
    def on_ping(self, msg: wire.Ping, env: wire.Envelope):
        return wire.Pong(msg.n)

    @on(wire.RegionSummary)
    def on_summary(self, msg: wire.RegionSummary, env: wire.Envelope):
        for tick, n, taken in msg.hub_took:  # (its answers about our hub parts again: one lost on its way counts now)
            self._hub_answer(env.sender, tick, n, taken, repeat=True)
        self._hub_confirmed(env.sender, msg.tick, msg.hub_heard)  # (or the consumers of its hub part we placed are named again)
        self._summary_says(env.sender, msg.tick)  # (its first answer lost: it placed none of our hub part, or it repeated it)
        self.summaries.add(msg.tick, env.sender, (env.sender, msg))
        self._maybe_round(msg.tick + 1)

    def on_tick(self, tick: int):
        if self._first is not None and self._finished != self.tick_now:
            # real time: the next tick came while this one's sub-round still waited for handovers;
            # it ends now with what came, or the first pass's changes would never be sent (views diverge)
            self._finish_now(self.tick_now)
        if self._sub is not None:  # (and one still waiting for hub answers goes with what came)
            self._wrap(self._sub.tick)
        if self._pending_gens or self._pending_cons:
            self._apply_registrations()
        self.tick_now = tick
        self.arm(tick, "round", 0.35, lambda: self._awaited(tick), self._maybe_round)
        self._maybe_round(tick)

    def _awaited(self, tick: int) -> list[str]:
        """Who the first pass of `tick` still waits for: statuses, reports, peers' summaries of the last tick."""
        return self.gen_status.missing(tick) + self.reports.missing(tick) + (self.summaries.missing(tick - 1) if tick > 0 else [])

    def _maybe_round(self, tick: int) -> None:
        if tick != self.tick_now or self._round_done == tick:
            return
        if self._awaited(tick) and not self.expired(tick, "round"):
            return
        self._round_done = tick
        missing = self._awaited(tick)
        self.missed(missing)
        self._missing_now = len(missing)
        self._first_pass(tick)
        self.arm(tick, "handover", 0.45, lambda: self.handovers.missing(tick), self._maybe_finish, hops=2)
        self._maybe_finish(tick)

    def _first_pass(self, tick: int) -> None:
        t0 = time.perf_counter()
        self._heap.before_round()
        self._unheard = unheard = [self._population_hi[p] for p in self.reports.missing(tick) if p in self._population_hi]
        summaries = self.summaries.take(tick - 1) if tick > 0 else []
        offers = dict(summaries)  # (a late older one first: the newest wins)
        inp = balance.RoundInput(
            tick=tick,
            statuses=[gen_update(st) for st in self.gen_status.take(tick)],
            reports=[balance.ConsumerBatch(r.lo_words(), r.column("demand_mw")) for r in self.reports.take(tick)],  # global indices: no 16-B ids
            answers=[balance.Answer(n, s.tick, s.took) for n, s in summaries],  # which of our Handovers each peer took
            gone=sorted(self._gone_trackers),
            handovers=self._later,
            offers={n: balance.PeerOffer(s.headroom_mw, s.starved_mw, s.room_mw, s.short_mw, s.storage_room_mw, s.firm_mw) for n, s in offers.items()},
            peers=self.peer_trackers,
            unheard=unheard,
            hub_released=self._hub_late,
        )
        self._later, self._hub_late = [], []
        self._fresh_status, self._fresh_reports = [], []  # (all of them are in this round)
        self._first = balance.first_pass(self.region, inp)
        # our hubs may carry load after the sub-round: a second offer (not while any peer is cut off from us: a peer
        # tracker would be waited for, and load moved onto gas whose fleet hears no setpoint blacked out more units)
        again = not self.unreachable and balance.wants_again(self.region)
        self._again_to = [p for p in self.peer_trackers if p not in self._gone_trackers] if again else []
        self._rooms, self._hop2, self._hop2_said = {}, None, set()
        self._first_s = time.perf_counter() - t0
        self.round_wall = (self.round_wall[0] if self.rounds else t0, t0)  # first and last round's start
        for peer in self.peer_trackers:
            ho = self._first.handovers[peer]
            self.send(peer, wire.Handover.pack(tick=tick, ids=ho.ids, demand_mw=ho.demand_mw, later=self._first.later[peer], hub=self._first.hub[peer],
                                               again=int(peer in self._again_to)))

    def _maybe_finish(self, tick: int) -> None:
        if tick != self.tick_now or self._round_done != tick or self._finished == tick:
            return
        if self.handovers.missing(tick) and not self.expired(tick, "handover"):
            return
        self._finish_now(tick)

    def _finish_now(self, tick: int) -> None:
        self._finished = tick
        missing = self.handovers.missing(tick)
        self.missed(missing)
        self._missing_now += len(missing)
        self._finish(tick)

    def _finish(self, tick: int) -> None:
        """The sub-round; then, once the peers we offered hub parts to have answered, the round goes out."""
        t0 = time.perf_counter()
        now = self._take_handovers(tick)  # (actors/tracker_handover.py)
        assert self._first is not None
        self._sub, taken = balance.sub_round(self.region, self._first, now, [b for _, b in self._hub_in])
        self._answer_hubs(tick, taken)
        self._first_s += time.perf_counter() - t0
        if self._hub_missing(self._sub):
            self.arm(tick, "hub", 0.5, lambda: self._hub_missing(self._sub) if self._sub is not None else [], self._maybe_wrap, hops=2)
        if self._again_from:  # (a giver's second offer comes after every first answer: its sub-round, then ours)
            self.arm(tick, "again", 0.53, lambda: self._again_wait(tick) if self._sub is not None else [], self._maybe_wrap, hops=2)
        self._maybe_wrap(tick)

    def _maybe_wrap(self, tick: int) -> None:
        """The round goes out once our first offers' answers are in (and our second offers', once sent:
        actors/tracker_handover.py), and the second offers of givers that told us to wait for them."""
        if self._sub is None or self._sub.tick != tick or (self._hub_missing(self._sub) and not self.expired(tick, "hub")):
            return
        if self._again_to and self._hop2 is None:
            self.missed(self._hub_missing(self._sub))  # (past the deadline: its summary is awaited a tenth of it, `hub2`)
            t0 = time.perf_counter()
            self._send_second(tick)
            self._first_s += time.perf_counter() - t0
            if self._hop2_waits():
                self.arm(tick, "hub2", 0.52, self._hop2_waits, self._maybe_wrap, hops=2)
        if (self._hop2_waits() and not self.expired(tick, "hub2")) or (self._again_wait(tick) and not self.expired(tick, "again")):
            return
        self._wrap(tick)

    def _wrap(self, tick: int) -> None:
        t0 = time.perf_counter()
        first, self._sub, self._first = self._sub, None, None
        assert first is not None
        self._wrapped = tick
        missing = self._hub_missing(first)  # (not lost: one whose sub-round went without our Handover takes it late, never its hub part)
        partly = self._hop2_missing()  # (answered our first offer, not our second)
        self._missing_now += len(missing) + len(partly)
        answers = self._hub_answers.pop(tick, {})
        self._hub_answers = {t: a for t, a in self._hub_answers.items() if t > tick}
        self._hub_unanswered(first, missing, answers, partly)
        self._hub_answered(first, answers, partly)
        self._rename_unheard(tick)
        out = balance.wrap_up(self.region, first, answers, coming=self._later).sent()
        unfit = self._hub_unfit(first)
        del first  # (with out.sent(): round 0's result arrays are not held while its messages are packed)
        self._heap.after_round()  # (what the round freed, given back before its messages are built)
        round_s = self._first_s + time.perf_counter() - t0
        self.rounds += 1
        self._interim_seq = 0
        self.round_seconds.append(round_s)
        # each message is built when the bytes this tracker has in flight allow (send_built: round 0 names everyone)
        owner = tracker_out.owners(out.ids["lo"], self._pop_ranges)
        tail = out.ids.size - out.handed  # from here on: the starved we handed out (a peer's word beats ours)
        for k, p in enumerate(self.plan.populations):  # its own consumers (and any no population owns)
            self.send_built(p.name, partial(tracker_out.assign, tick, out.ids, out.gen_ids, owner, k, tail))
        released = np.full(len(out.released_ids), balance.NO_GENERATOR, dtype=np.int32)  # first: the round's word wins
        sp = wire.Setpoints.pack(tick=tick, gen_ids=out.steer_gen_ids, setpoint_mw=out.setpoint_mw)
        for fleet in sorted(self.gen_status.expected_at(tick)):  # the fleets owning generators here, no others
            self._note_unsent(fleet, out.released_ids)
            self._note_unsent(fleet, out.ids)
            if fleet in self._resend:
                self._resend_truth(fleet, tick)
            for ids, gens in balance.id_blocks((out.released_ids, released), (out.ids, out.gen_ids)):  # one population's: compact
                self.send_built(fleet, partial(tracker_out.delta, tick, ids, gens))
            self.send(fleet, sp)
        after = out.summary
        for peer in self.peer_trackers:  # the peer's next first pass waits for it
            self.send(peer, wire.RegionSummary(tick, after.capacity_mw, after.load_mw, after.headroom_mw, after.starved_mw, after.starved_count,
                                                   out.room_mw, out.short_mw, out.storage_room_mw, took=self._took_of(peer), firm_mw=out.firm_mw,
                                                   hub_took=self._hub_took_of(peer, tick), hub_heard=self._hub_heard_of(peer, tick)))
        self.done(tick, {"round_s": round_s, **out.figures, **unfit, "missing_peers": self._missing_now, "unreachable": len(self.unreachable)})
        if self._fresh_status or self._fresh_reports:  # came while the sub-round waited: a continuous round next
            self._kick()

    def _note_unsent(self, fleet: str, ids: np.ndarray | balance.NamedIds) -> None:
        if fleet in self.unreachable and len(ids):
            self._unsent.setdefault(fleet, []).append(np.array(ids))

    def on_reachable(self, peer: str) -> None:
        super().on_reachable(peer)
        if peer in self._unsent:
            self._resend.add(peer)

    def _resend_truth(self, fleet: str, tick: int) -> None:
        """`fleet` is back: where every consumer we named to it while it was cut off is now (on
        one of our generators, or off them: a fleet applies our "off" only to consumers on our
        generators). Without it a consumer that left our generators during the cut stays on
        them in the fleet's trees for good. Sent before the round's own delta (its word wins)."""
        self._resend.discard(fleet)
        ids = np.concatenate(self._unsent.pop(fleet))
        ids = ids[np.unique(ids["lo"], return_index=True)[1]]
        held, _, gens = self.region.where_are(ids)
        gone = ids[~np.isin(ids["lo"], held["lo"])]
        self.send(fleet, wire.TreeDelta.pack(tick=tick, ids=np.concatenate([gone, held]),
                                             gen_ids=np.concatenate([np.full(gone.size, balance.NO_GENERATOR, dtype=np.int32), gens])))
        log.info("%s: %s is back; told it where %d consumers named while it was cut off are", self.name, fleet, ids.size)

    def final_figures(self) -> dict[str, float]:
        r = np.asarray(self.round_seconds) if self.round_seconds else np.zeros(1)
        region = self.region
        return {"rounds": self.rounds, "interim_rounds": self.interim_rounds, "interim_s_total": self.interim_seconds, "resynced": region.resynced, "round_s_total": float(r.sum()), "round_s_mean": float(r.mean()),
                "round_s_p95": float(np.percentile(r, 95)), "moved_total": region.moved_total, "unknown_ids": region.unknown_ids,
                "retired": self.retired, "rehomed": self.rehomed, "late_handovers": self.late_handovers, "hub_late": self.hub_late, **region.handed_out.figures(),
                # rounds achieved end to end, per wall second: the tick rounds, and under real time the
                # continuous rounds between them (lockstep: one a tick, as fast as the day runs)
                "rounds_per_wall_s": (self.rounds + self.interim_rounds - 1) / (self.round_wall[1] - self.round_wall[0])
                if self.rounds > 1 else 0.0}
