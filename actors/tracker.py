"""The tracker: a regional controller that rebuilds the ephemeral distribution trees of its
bucket every round. Its generators and consumers live in arrays (scowl.balance.Trees); the
policy is pure (scowl.balance, scowl.dispatch); this actor only moves messages in and out.

One round per tick, once every fleet's GenStatus, every population's DemandReport and (from
tick 1) every peer tracker's Handover for the previous tick are in, applied in sender order:
  1. generators' available output; gas (continuous) setpoints dispatched within ramp limits;
     EV hubs (storage) asked to discharge what gas cannot cover, or to charge on a surplus
  2. consumers' reported demand, and consumers handed over by peers (accepted where they fit,
     kept as starved where they do not: nobody is ever lost)
  3. rebalance: shed consumers off generators over (1 - threshold) x output, place the
     unplaced where there is room, starve the rest
  4. hand starved consumers to peers that advertised spare capacity last tick
  5. Assign to populations, TreeDelta + Setpoints to fleets, RegionSummary to peers.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from scowl import balance, wire
from scowl.actors.peer import Gather, GridPeer
from scowl.dispatch import dispatch, required_output, storage_setpoints
from scowl.model import CONTINUOUS, STORAGE
from scowl.runtime import on

log = logging.getLogger("scowl.tracker")


class Tracker(GridPeer):
    role = "tracker"

    def __init__(self, name, plan, scenario, address) -> None:
        super().__init__(name, plan, scenario, address)
        self.thr = scenario.scenario.safety_threshold
        self.trees = balance.Trees(np.zeros(0))
        self.gen_ids = np.zeros(0, dtype=np.int32)
        self.gen_index: dict[int, int] = {}
        self.kind = np.zeros(0, dtype=np.uint8)
        self.pmin = np.zeros(0)
        self.pmax = np.zeros(0)
        self.ramp = np.zeros(0)
        self.available = np.zeros(0)
        self.charge_cap = np.zeros(0)  # EV hubs: the charge they could take this tick (MW)
        self.setpoint = np.zeros(0)
        self.cons_ids = np.zeros(0, dtype=wire.CONSUMER_ID_DTYPE)  # by Trees consumer index
        self.local_of = np.full(plan.n_global, -1, dtype=np.int32)  # global consumer index -> Trees index
        self.peers = [t for t in plan.trackers if t != name]
        self.peer_summary: dict[int, dict[str, wire.RegionSummary]] = {}  # tick -> peer -> summary
        self.gen_status = Gather([], "gen-status")  # the fleets that registered generators with us
        self.reports = Gather([p.name for p in plan.populations], "demand-report")
        self.handovers = Gather(self.peers, "handover")
        self.pending_handover_ids: list[np.ndarray] = []
        self.tick_now = -1
        self._round_done = -1
        self._missing_now = 0
        self.resynced = 0
        self.rounds = 0
        self.round_seconds: list[float] = []
        self.moved_total = 0
        self.unknown_ids = 0
        self._pending_gens: dict[str, wire.GeneratorsRegister] = {}
        self._gen_sender: dict[str, frozenset[int]] = {}  # fleet -> the generator ids it registered
        self.rejoined = 0  # fleets that registered again (restarted) and got their trees back
        self._pending_cons: dict[str, list[wire.ConsumersRegister]] = {}
        self._claimed = np.zeros(plan.n_global, dtype=bool)  # consumers registered, not yet applied

    async def setup(self) -> None:
        for name, (role, address, _) in (await self.lookup("tracker")).items():
            if name != self.name:
                await self.connect(name, address)

    # ---------------------------------------------------------------- registration

    # Registrations are checked when they come but applied at the first tick, in sender order:
    # the rows of the trees (hence every tie the policy breaks by index) must not depend on
    # which fleet or population happened to register first.

    @on(wire.GeneratorsRegister)
    def on_generators(self, msg: wire.GeneratorsRegister, env: wire.Envelope):
        ids = [int(g) for g in msg.column("gen_ids")]
        before = self._gen_sender.get(env.sender)
        if before is not None:  # the fleet restarted: the same generators, from the same sender
            if frozenset(ids) != before or len(ids) != len(before):
                raise ValueError(f"{env.sender} registered again with other generators ({len(ids)} now, {len(before)} before): "
                                 "a restarted fleet must join with the ids the bootstrap gave it")
            self._resend_trees(env.sender, msg.column("gen_ids"))
            return wire.Registered(True, "rejoined")
        seen = set(self.gen_index) | {g for m in self._pending_gens.values() for g in m.column("gen_ids").tolist()}
        twice = sorted(set(ids) & seen) or sorted(g for g in set(ids) if ids.count(g) > 1)
        if twice:
            raise ValueError(f"generators registered twice: {twice[:5]} (by {env.sender}, and before by another fleet or twice in one message)")
        self._gen_sender[env.sender] = frozenset(ids)
        if not msg.n:
            return wire.Registered(True, "none of these generators is in this tracker's bucket: send it nothing")
        self._pending_gens[env.sender] = msg
        self.gen_status.join(env.sender, 0)
        return wire.Registered(True)

    def _where_are(self, ids: np.ndarray) -> wire.Resync:
        """The truth as this tracker has it about these consumers: the ones it holds, with the
        demand it plans with and the generator each is on (STARVED_ID: starved). The others
        are not ours (another tracker holds them, or one is taking them over)."""
        local = self.local_of[self._global_index(ids)]
        held = local >= 0
        held[held] &= self.trees.assignment[local[held]] != balance.ABSENT
        local = local[held]
        a = self.trees.assignment[local]
        gen = np.where(a >= 0, self.gen_ids[np.maximum(a, 0)] if len(self.gen_ids) else 0, wire.STARVED_ID)
        return wire.Resync.pack(ids=ids[held], demand_mw=self.trees.demand[local], gen_ids=gen)

    def _resend_trees(self, fleet: str, gen_ids: np.ndarray) -> None:
        """A fleet that restarted lost its own copy of its generators' trees: send it the
        whole of them as one TreeDelta (later rounds' deltas follow it on the same link).
        Before the first tick there is nothing to send: its registration is still pending."""
        if fleet in self._pending_gens or not gen_ids.size:
            return
        rows = np.fromiter((self.gen_index[int(g)] for g in gen_ids), dtype=np.int64, count=gen_ids.size)
        local = np.flatnonzero(np.isin(self.trees.assignment, rows))
        self.send(fleet, wire.TreeDelta.pack(tick=max(self.tick_now, 0), ids=self.cons_ids[local],
                                             gen_ids=self.gen_ids[self.trees.assignment[local]]))
        self.rejoined += 1
        log.warning("%s: %s rejoined; sent it the trees of its %d generators (%d consumers)", self.name, fleet, gen_ids.size, local.size)

    @on(wire.ConsumersRegister)
    def on_consumers(self, msg: wire.ConsumersRegister, env: wire.Envelope):
        if self.tick_now >= 0:  # the run is under way: a population that restarted asks where its consumers are
            return self._where_are(msg.column("ids"))
        lo = self._global_index(msg.column("ids"))
        if np.any(self.local_of[lo] >= 0) or np.any(self._claimed[lo]):
            raise ValueError(f"{int(np.count_nonzero((self.local_of[lo] >= 0) | self._claimed[lo]))} consumers registered twice")
        self._claimed[lo] = True
        self._pending_cons.setdefault(env.sender, []).append(msg)  # one sender's chunks come in order
        return wire.Registered(True)

    def _apply_registrations(self) -> None:
        for sender in sorted(self._pending_gens):
            self._add_generators(self._pending_gens.pop(sender))
        for sender in sorted(self._pending_cons):
            for msg in self._pending_cons.pop(sender):
                ids = msg.column("ids")
                idx = self.trees.add_consumers(msg.column("demand_mw"))
                self.local_of[self._global_index(ids)] = idx
                self.cons_ids = _grow_ids(self.cons_ids, idx, ids)
        self._claimed = np.zeros(0, dtype=bool)

    def _add_generators(self, msg: wire.GeneratorsRegister) -> None:
        ids = msg.column("gen_ids")
        rows = self.trees.add_generators(np.zeros(msg.n))
        for g, r in zip(ids.tolist(), rows.tolist()):
            self.gen_index[int(g)] = r
        self.gen_ids = np.concatenate([self.gen_ids, ids.astype(np.int32)])
        self.kind = np.concatenate([self.kind, msg.column("kind")])
        self.pmin = np.concatenate([self.pmin, msg.column("min_mw")])
        self.pmax = np.concatenate([self.pmax, msg.column("nameplate_mw")])
        self.ramp = np.concatenate([self.ramp, msg.column("ramp_mw")])
        self.available = np.concatenate([self.available, np.zeros(msg.n)])
        self.charge_cap = np.concatenate([self.charge_cap, np.zeros(msg.n)])
        start = np.where(self.kind[-msg.n:] == CONTINUOUS, self.pmax[-msg.n:] * 0.5, 0.0)
        self.setpoint = np.concatenate([self.setpoint, np.maximum(start, self.pmin[-msg.n:])])

    def _global_index(self, ids: np.ndarray) -> np.ndarray:
        lo = ids["lo"].astype(np.int64)
        if lo.size and (lo.min() < 0 or lo.max() >= self.plan.n_global):
            raise ValueError(f"consumer index outside [0, {self.plan.n_global})")
        return lo

    # ---------------------------------------------------------------- the round

    @on(wire.GenStatus)
    def on_gen_status(self, msg: wire.GenStatus, env: wire.Envelope):
        self.heard(env.sender)
        self.gen_status.add(msg.tick, env.sender, msg)
        self._maybe_round(msg.tick)

    @on(wire.DemandReport)
    def on_report(self, msg: wire.DemandReport, env: wire.Envelope):
        self.heard(env.sender)
        self.reports.add(msg.tick, env.sender, msg)
        self._maybe_round(msg.tick)

    @on(wire.Handover)
    def on_handover(self, msg: wire.Handover, env: wire.Envelope):
        self.heard(env.sender)
        self.handovers.add(msg.tick, env.sender, msg)
        self._maybe_round(msg.tick + 1)

    @on(wire.Resync)
    def on_resync(self, msg: wire.Resync, env: wire.Envelope):
        """A population we had lost tells us where its consumers really are."""
        if not msg.n:
            return
        local = self.local_of[self._global_index(msg.column("ids"))]
        ok = local >= 0
        local = local[ok]
        present = self.trees.assignment[local] != balance.ABSENT
        local = local[present]
        gen = msg.column("gen_ids")[ok][present]
        rows = np.array([self.gen_index.get(int(g), balance.STARVED) for g in gen], dtype=np.int32) if gen.size else np.zeros(0, dtype=np.int32)
        self.trees.apply_consumer_updates(local, msg.column("demand_mw")[ok][present])
        self.trees._reassign(local, rows)  # the truth, not a decision: no Assign follows
        self.resynced += int(local.size)

    @on(wire.Ping)
    def on_ping(self, msg: wire.Ping, env: wire.Envelope):
        return wire.Pong(msg.n)

    @on(wire.RegionSummary)
    def on_summary(self, msg: wire.RegionSummary, env: wire.Envelope):
        self.peer_summary.setdefault(msg.tick, {})[env.sender] = msg

    def on_tick(self, tick: int):
        if self._pending_gens or self._pending_cons:
            self._apply_registrations()
        self.tick_now = tick
        self.arm(tick, "round", 0.35, lambda: self.gen_status.missing(tick) + self.reports.missing(tick) + (
            self.handovers.missing(tick - 1) if tick > 0 and self.peers else []), self._maybe_round)
        self._maybe_round(tick)

    def _maybe_round(self, tick: int) -> None:
        if tick != self.tick_now or self._round_done == tick:
            return
        complete = self.gen_status.complete(tick) and self.reports.complete(tick) and (
            tick == 0 or not self.peers or self.handovers.complete(tick - 1))
        if not complete and not self.expired(tick, "round"):
            return
        self._round_done = tick
        missing = self.gen_status.missing(tick) + self.reports.missing(tick) + (self.handovers.missing(tick - 1) if tick > 0 else [])
        self.missed(missing)
        self._missing_now = len(missing)
        self._round(tick)

    def _round(self, tick: int) -> None:
        t0 = time.perf_counter()
        trees = self.trees
        # 1. generators
        for st in self.gen_status.take(tick):
            if st.n:
                rows = np.fromiter((self.gen_index[int(g)] for g in st.column("gen_ids")), dtype=np.int64, count=st.n)
                self.available[rows] = st.column("output_mw")
                self.charge_cap[rows] = st.column("charge_mw")
                steer = np.isin(self.kind[rows], (CONTINUOUS, STORAGE))
                self.setpoint[rows[steer]] = st.column("setpoint_mw")[steer]
        # 2. consumers: reports, then handovers from peers (sender order)
        for rep in self.reports.take(tick):
            if rep.n:
                self._update_demand(rep.column("ids"), rep.column("demand_mw"))
        accepted = declined = 0
        handed_in = []
        if tick > 0:
            for ho in self.handovers.take(tick - 1):
                if ho.n:
                    a, d, idx = self._accept_handover(ho.column("ids"), ho.column("demand_mw"))
                    accepted, declined = accepted + a, declined + d
                    handed_in.append(idx)
        # dispatch of continuous generators for the region's demand
        cont = self.kind == CONTINUOUS
        stor = self.kind == STORAGE
        summary = balance.region_summary(trees, self.thr)
        demand_mw = summary.load_mw + summary.starved_mw
        fixed_out = float(self.available[~cont & ~stor].sum())
        need = required_output(demand_mw, fixed_out, self.thr)
        if cont.any():
            self.setpoint[cont] = dispatch(self.setpoint[cont], self.pmin[cont], np.maximum(self.pmin[cont], np.minimum(self.pmax[cont], self.available[cont])),
                                           self.ramp[cont], need)
        if stor.any():  # EV hubs: discharge what gas could not cover, or charge on what is left over
            gas_out = float(np.minimum(self.setpoint[cont], self.available[cont]).sum())
            self.setpoint[stor] = storage_setpoints(need - gas_out, self.available[stor], self.charge_cap[stor], self.thr)
        output = np.where(cont, np.minimum(self.setpoint, self.available),
                          np.where(stor, np.clip(self.setpoint, 0.0, self.available), self.available))
        if len(output):
            trees.apply_generator_updates(np.arange(len(output)), output)
        # 3. rebalance
        res = balance.rebalance(trees, self.thr)
        # 4. hand starved consumers to peers with spare capacity (what they advertised last tick)
        handed_to = self._pick_handover(tick, res)
        handed = np.concatenate(list(handed_to.values())) if handed_to else np.zeros(0, dtype=np.int64)
        round_s = time.perf_counter() - t0
        self.rounds += 1
        self.round_seconds.append(round_s)
        # 5. tell everyone what changed
        changed = res.moved
        gen = np.where(res.moved_to >= 0, self.gen_ids[np.maximum(res.moved_to, 0)] if len(self.gen_ids) else 0, wire.STARVED_ID)
        for idx in handed_in:  # accepted or kept starved: their new tracker is us
            new = np.setdiff1d(idx, changed)
            a = trees.assignment[new]
            changed = np.concatenate([changed, new])
            gen = np.concatenate([gen, np.where(a >= 0, self.gen_ids[np.maximum(a, 0)] if len(self.gen_ids) else 0, wire.STARVED_ID)])
        if handed.size:
            changed = np.concatenate([changed, handed])
            gen = np.concatenate([gen, np.full(handed.size, wire.STARVED_ID)])
        # one entry per consumer, the last word wins (a consumer starved and then handed over
        # in the same round appears twice)
        last = len(changed) - 1 - np.unique(changed[::-1], return_index=True)[1]
        changed, gen = changed[last], gen[last]
        ids = self.cons_ids[changed]
        self.moved_total += int(res.moved.size)
        assign = wire.Assign.pack(tick=tick, ids=ids, gen_ids=gen)
        for p in self.plan.populations:
            self.send(p.name, assign)
        delta = wire.TreeDelta.pack(tick=tick, ids=ids, gen_ids=gen)
        steer = cont | stor
        sp = wire.Setpoints.pack(tick=tick, gen_ids=self.gen_ids[steer], setpoint_mw=self.setpoint[steer])
        for fleet in sorted(self.gen_status.expected_at(tick)):  # the fleets owning generators here, no others
            self.send(fleet, delta)
            self.send(fleet, sp)
        after = balance.region_summary(trees, self.thr)
        for peer in self.peers:  # the summary first: the peer's next round waits for our Handover, sent after it
            self.send(peer, wire.RegionSummary(tick, after.capacity_mw, after.load_mw, after.headroom_mw, after.starved_mw, after.starved_count))
            idx = handed_to.get(peer, np.zeros(0, dtype=np.int64))
            self.send(peer, wire.Handover.pack(tick=tick, ids=self.cons_ids[idx], demand_mw=self.trees.demand[idx]))
        self.done(tick, {
            "round_s": round_s, "moved": res.moved.size, "newly_starved": res.newly_starved.size,
            "restored": res.restored.size, "shed": res.shed, "overloaded": res.overloaded,
            "starved": after.starved_count, "starved_mw": after.starved_mw, "capacity_mw": after.capacity_mw,
            "load_mw": after.load_mw, "headroom_mw": after.headroom_mw, "gas_setpoint_mw": float(self.setpoint[cont].sum()),
            "storage_setpoint_mw": float(self.setpoint[stor].sum()),
            "handed_out": handed.size, "handed_in_accepted": accepted, "handed_in_declined": declined,
            "generators": len(self.gen_ids), "consumers": int(np.count_nonzero(trees.assignment != balance.ABSENT)),
            "missing_peers": self._missing_now, "unreachable": len(self.unreachable),
        })

    def _update_demand(self, ids: np.ndarray, demand: np.ndarray) -> None:
        local = self.local_of[self._global_index(ids)]
        known = local >= 0
        if not known.all():
            self.unknown_ids += int(np.count_nonzero(~known))
        local, demand = local[known], demand[known]
        present = self.trees.assignment[local] != balance.ABSENT
        if present.any():
            self.trees.apply_consumer_updates(local[present], demand[present])

    def _accept_handover(self, ids: np.ndarray, demand: np.ndarray) -> tuple[int, int, np.ndarray]:
        """Consumers a peer handed us: placed where they fit, kept as starved otherwise."""
        res = balance.accept_consumers(self.trees, demand, self.thr)
        rest = np.flatnonzero(~res.accepted)
        kept = self.trees.add_consumers(demand[rest]) if rest.size else np.zeros(0, dtype=np.int64)
        idx = np.empty(len(ids), dtype=np.int64)
        idx[res.accepted] = res.index
        idx[rest] = kept
        self.local_of[self._global_index(ids)] = idx
        self.cons_ids = _grow_ids(self.cons_ids, idx, ids)
        return res.count, int(rest.size), idx

    def _pick_handover(self, tick: int, res) -> dict[str, np.ndarray]:
        """Starved consumers go to peers that advertised spare capacity at the previous tick
        (largest offer first); released here, placed by the peer in its next round."""
        handed: dict[str, np.ndarray] = {}
        offers = self.peer_summary.pop(tick - 1, {})
        for old in [t for t in self.peer_summary if t < tick - 1]:
            del self.peer_summary[old]
        if not res.starved_count or not offers:
            return handed
        share = 1.0 / max(1, len(self.peers))  # every short peer may ask the same donor
        for spare, peer in sorted(((s.headroom_mw - s.starved_mw, n) for n, s in offers.items()), reverse=True):
            if spare <= 0:
                continue
            idx = balance.pick_handover(self.trees, spare * share * 0.9)
            if idx.size:
                balance.release_consumers(self.trees, idx)
                self.local_of[self._global_index(self.cons_ids[idx])] = -1
                handed[peer] = idx
        return handed

    def final_figures(self) -> dict[str, float]:
        r = np.asarray(self.round_seconds) if self.round_seconds else np.zeros(1)
        return {"rounds": self.rounds, "resynced": self.resynced, "round_s_total": float(r.sum()), "round_s_mean": float(r.mean()),
                "round_s_p95": float(np.percentile(r, 95)), "moved_total": self.moved_total, "unknown_ids": self.unknown_ids}


def _grow_ids(arr: np.ndarray, idx: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """Store ids at consumer indices, growing the array (amortised doubling)."""
    need = int(idx.max()) + 1 if idx.size else 0
    if need > len(arr):
        bigger = np.zeros(max(need, 2 * len(arr)), dtype=wire.CONSUMER_ID_DTYPE)
        bigger[: len(arr)] = arr
        arr = bigger
    arr[idx] = ids
    return arr
