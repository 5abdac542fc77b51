"""A generator fleet: the generators of one host (every fuel type), as arrays, each with its
own 32-bit id on the wire and its own copy of its distribution tree (its members only:
scowl.actors.fleet_members).

Each tick: each generator's available output follows the day's supply model (continuous
units: the tracker's ramp-limited setpoint); report it to the owning tracker; take the
tracker's tree changes and setpoints; once every population's Draw is in, a generator whose
tree draws more than its output blacks out: its whole tree is unserved this tick, recorded,
and told so by a Verdict multicast (PUB) to the populations, until its tracker sheds load."""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from scowl import wire
from scowl.actors.fleet_members import FleetMembers
from scowl.actors.peer import Gather, GridPeer
from scowl.balance import response, views
from scowl.idrows import IdRows
from scowl.model import CONTINUOUS, TYPE_NAMES, SupplyModel, build_generators, ramp_limit
from scowl.model.cutoff import gas_reach_mw, on_own_mw
from scowl.plan import bind_address
from scowl.runtime import on
from scowl.streams import StreamRepo

BLACKOUT_TOLERANCE = 1e-9  # relative: float noise is not a blackout

log = logging.getLogger("scowl.generator")


class GeneratorFleet(GridPeer):
    role = "generator"

    def __init__(self, name, plan, scenario, address, shard) -> None:
        super().__init__(name, plan, scenario, address)
        self.rows = np.asarray(shard.rows, dtype=np.int64)
        self.build_units(scenario, StreamRepo(scenario.seed))
        self.n = len(self.rows)
        self.gen_ids = np.zeros(self.n, dtype=np.int32)
        self.row_of = IdRows([])  # generator id -> our row
        self.tracker_of: list[str] = []
        self.setpoint = np.where(self.kind == CONTINUOUS, self.nameplate * 0.5, 0.0)
        self.output = np.zeros(self.n)
        self.load = np.zeros(self.n)
        self.blacked = np.zeros(self.n, dtype=bool)
        self.blackout_ticks = np.zeros(self.n, dtype=np.int64)
        self.blackout_events = 0
        self.members = np.zeros(self.n, dtype=np.int64)  # consumers in each generator's tree
        self.view_sum = 0  # the members' (consumer, generator) pair hashes, summed (scowl.balance.views)
        self.tree = FleetMembers(plan.n_global, self.n)  # our members' global consumer index -> row
        self._deltas: dict[int, list[tuple[str, np.ndarray, np.ndarray]]] = {}  # tick -> (sender, ids, gen ids) to apply
        self.orders = Gather([], "setpoints")  # from the trackers that own our generators (setup)
        self.draws = Gather([p.name for p in plan.populations], "draw")
        self.tick_now = -1
        self._finished = -1
        self.response = scenario.response
        self.last_draw: dict[str, np.ndarray] = {}  # population -> per-generator draw last heard
        self.warned = np.zeros(self.n, dtype=bool)  # capacity_low sent and not yet unchoked
        self.capacity_low_sent = np.zeros(self.n, dtype=np.int64)
        self.consumers_blacked_out = 0

    def build_units(self, scenario, repo: StreamRepo) -> None:
        """This fleet's generators: names, type and kind codes, limits, and the supply model."""
        fleet = build_generators(scenario, repo)
        self.names = [fleet.name[r] for r in self.rows]
        self.type_code = fleet.type_code[self.rows]
        self.kind = fleet.kind[self.rows]
        self.nameplate = fleet.nameplate_mw[self.rows]
        self.pmin = fleet.min_mw[self.rows]
        self.ramp = fleet.ramp_mw[self.rows]
        self.zone = fleet.zone[self.rows]
        self.supply = SupplyModel(fleet, scenario, repo, indices=self.rows)

    def placement_weight(self) -> np.ndarray:
        """What the broker weighs consumer placement by: what each unit can give at tick 0, MW
        (dispatchable units their nameplate; wind, sun and outages as the day begins): a warm start."""
        return self.supply.available(0)

    async def prepare(self) -> None:
        self.pub_address = await self.bind_pub(_pub_address(self))
        await self.connect("bootstrap", self.plan.bootstrap)

    async def setup(self) -> None:
        # the generator's logical address (host/name), not the socket address: the socket's
        # port or run id changes from run to run, and ids (hence buckets) must not
        host = self.plan.hosts.get(self.name, "local")
        ids = await asyncio.gather(*(self.request("bootstrap", wire.GeneratorJoin(n, f"{host}/{n}"), timeout=60, reply=wire.GeneratorId)
                                     for n in self.names))
        self.gen_ids[:] = [r.gen_id for r in ids]
        self.row_of = IdRows(self.gen_ids.tolist())
        log.info("%s: generator ids %s", self.name, ",".join(str(int(g)) for g in self.gen_ids))
        zones = getattr(self, "zone", None)  # NYISO zone of each unit (storage hubs have none)
        located = await self.request("broker", wire.Locate(self.gen_ids.tolist(), self.placement_weight().tolist(),
                                                           [] if zones is None else zones.tolist()), timeout=600,
                                          reply=wire.Located)
        self.tracker_of = list(located.trackers)
        directory = await self.lookup("tracker")
        for tracker in self.owners():  # only the trackers owning our generators: the others have nothing to say to us
            await self.connect(tracker, directory[tracker][1])
            sel = np.flatnonzero(np.array(self.tracker_of) == tracker)
            await self.request(tracker, wire.GeneratorsRegister.pack(
                gen_ids=self.gen_ids[sel], nameplate_mw=self.nameplate[sel], min_mw=self.pmin[sel],
                ramp_mw=self.ramp[sel], kind=self.kind[sel], type_code=self.type_code[sel],
                zone=b"" if zones is None else zones[sel].astype(np.uint8).tobytes()), timeout=60)
            self.orders.join(tracker, 0)

    def owners(self) -> list[str]:
        """The trackers that own at least one of our generators (their buckets)."""
        return sorted(set(self.tracker_of))

    def on_members(self, tick: int, joined: dict[str, str], left: list[str]) -> None:
        """A population or tracker the metronome no longer counts (declared dead) is not waited
        for: a dead tracker's generators keep their last setpoints."""
        for name in left:
            self.draws.leave(name, tick)
            self.orders.leave(name, tick)

    # ---------------------------------------------------------------- per tick

    def on_tick(self, tick: int):
        self.tick_now = tick
        self.arm(tick, "verdict", 0.75, lambda: self.orders.missing(tick) + self.draws.missing(tick), self._maybe_verdict,
                 hops=4)
        self.available, charge = self.availability(tick)
        self.output = self.output_now()
        # what each unit could give this tick if asked: dispatchable units as far as their ramp
        # goes from their setpoint (the state log's ground truth for "could the supply have served")
        cont = self.kind == CONTINUOUS
        ramp = self.nameplate if tick == 0 else self.ramp  # warm start: before tick 0 a unit may run at any level
        self.reachable = np.where(cont, np.minimum(np.minimum(self.available, self.nameplate), self.setpoint + ramp), self.available)
        owner = np.array(self.tracker_of) if self.n else np.zeros(0, dtype=str)
        for tracker in self.owners():
            sel = np.flatnonzero(owner == tracker)
            self.send(tracker, wire.GenStatus.pack(tick=tick, gen_ids=self.gen_ids[sel], output_mw=self.available[sel],
                                                   setpoint_mw=self.setpoint[sel], load_mw=self.load[sel], charge_mw=charge[sel]))
        self._maybe_verdict(tick)

    def availability(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """(available output, charge it could take) of each generator this tick, MW."""
        return self.supply.available(tick), np.zeros(self.n)

    def output_now(self) -> np.ndarray:
        """What each generator gives: continuous units their setpoint (within availability)."""
        return np.where(self.kind == CONTINUOUS, np.minimum(self.setpoint, self.available), self.available)

    def follow_setpoints(self, upd: np.ndarray, target: np.ndarray) -> None:
        """Move the setpoints the tracker gave towards its targets (ramp-limited; the day's
        first setpoints are where the units ran before it began: a warm start)."""
        ramp = self.nameplate if self.tick_now == 0 else self.ramp
        self.setpoint[upd] = ramp_limit(self.setpoint[upd], target[upd], ramp[upd], self.pmin[upd], self.nameplate[upd])

    def reach_on_own(self) -> tuple[np.ndarray, np.ndarray]:
        """(which units follow their load on their own, what each can give this tick without a
        setpoint from its tracker, MW): gas units, within their ramp from their last setpoint
        (wind, sun and fixed units give what they have in any case)."""
        return self.kind == CONTINUOUS, gas_reach_mw(self.setpoint, self.ramp, self.nameplate, self.available)

    def view(self) -> dict[str, float]:
        """Our trees as we hold them: the members of our generators (scowl.balance.views), kept
        as the tree deltas come (not an O(consumers) pass a tick)."""
        return views.figures_of(int(self.members.sum()), self.view_sum)

    def settle(self, tick: int, delivered: np.ndarray, figures: dict) -> None:
        """Hook: the tick's verdict is in (what each generator delivered, MW); add figures."""

    @on(wire.TreeDelta)
    def on_tree_delta(self, msg: wire.TreeDelta, env: wire.Envelope):
        """Kept (compact) until the tick's verdict, then applied in sender order like the
        populations' Assigns: two trackers may name one consumer in a tick (one placing it on
        a generator of ours, one on another fleet's), and the last word must be the same one
        the populations follow, whatever order the network delivered the deltas in."""
        if not msg.n:
            return
        lo = msg.lo_words().astype(np.int64)  # (compact: no 16-byte ids built)
        if lo.min() < 0 or lo.max() >= self.tree.n_global:
            raise ValueError(f"tree delta names consumers outside [0, {self.tree.n_global})")
        new = msg.column("gen_ids")
        last = len(lo) - 1 - np.unique(lo[::-1], return_index=True)[1]  # the last word per consumer
        self._deltas.setdefault(msg.tick, []).append((env.sender, lo[last].astype(np.int32), new[last]))
        if msg.tick <= self._finished:  # a resync's truth, after that tick's verdict: now
            log.info("%s: tree delta of tick %d from %s (%d consumers) after that tick's verdict (now tick %d)",
                     self.name, msg.tick, env.sender, msg.n, self.tick_now)
            self._apply_deltas(msg.tick)

    def _apply_deltas(self, tick: int) -> None:
        """The tree deltas of this tick and earlier, in (tick, sender) order (a sender's own in
        the order sent)."""
        for t in sorted(t for t in self._deltas if t <= tick):
            for sender, lo, new in sorted(self._deltas.pop(t), key=lambda d: d[0]):  # stable: a sender's in order
                self._apply_delta(sender, lo.astype(np.int64), new)

    def _apply_delta(self, sender: str, lo: np.ndarray, new: np.ndarray) -> None:
        old = self.tree.rows_of(lo)  # our row each was on (-1: none of ours)
        # a tracker takes consumers off its own generators only: one it handed to a peer may
        # already be on the peer's generator here (the peer's word came first)
        owners = self.owners()
        me = owners.index(sender) if sender in owners else -2
        owner_of_row = np.array([owners.index(t) for t in self.tracker_of] + [-1], dtype=np.int64)
        keep = (new != wire.STARVED_ID) | (old < 0) | (owner_of_row[old] == me)
        if not keep.all():
            lo, new, old = lo[keep], new[keep], old[keep]
        rows = self.row_of.rows(new)
        self.tree.update(lo, old, rows)
        for r, sign in ((old, -1), (rows, 1)):
            mine = r >= 0
            self.members += sign * np.bincount(r[mine], minlength=self.n)
            self.view_sum += sign * views.pair_sum(lo[mine], self.gen_ids[r[mine]])

    @on(wire.Setpoints)
    def on_setpoints(self, msg: wire.Setpoints, env: wire.Envelope):
        self.heard(env.sender)
        self.orders.add(msg.tick, env.sender, msg)
        self._maybe_verdict(msg.tick)

    @on(wire.Draw)
    def on_draw(self, msg: wire.Draw, env: wire.Envelope):
        self.heard(env.sender)
        self.draws.add(msg.tick, env.sender, (env.sender, msg))
        self._maybe_verdict(msg.tick)

    def _maybe_verdict(self, tick: int) -> None:
        if tick != self.tick_now or self._finished == tick:
            return
        if not (self.orders.complete(tick) and self.draws.complete(tick)) and not self.expired(tick, "verdict"):
            return
        self._finished = tick
        self._apply_deltas(tick)
        self.missed(self.orders.missing(tick) + self.draws.missing(tick))
        cont = self.kind == CONTINUOUS
        for sp in self.orders.take(tick):
            rows = self.row_of.rows(sp.column("gen_ids"))
            mine = rows >= 0
            target = np.zeros(self.n)
            target[rows[mine]] = sp.column("setpoint_mw")[mine]
            upd = np.zeros(self.n, dtype=bool)
            upd[rows[mine]] = True
            self.follow_setpoints(upd, target)
        self.output = self.output_now()
        for pop in self.draws.missing(tick):  # a population we did not hear from keeps drawing
            self.last_draw.setdefault(pop, np.zeros(self.n))
        for pop, dr in self.draws.take(tick, older=False):
            rows = self.row_of.rows(dr.column("gen_ids"))
            mine = rows >= 0
            per = np.zeros(self.n)
            np.add.at(per, rows[mine], dr.column("draw_mw")[mine])
            self.last_draw[pop] = per
        load = np.sum([self.last_draw[p] for p in sorted(self.last_draw)], axis=0) if self.last_draw else np.zeros(self.n)
        self.load = load
        # self-optimizing generators: those whose tracker we lost warn their tree (capacity_low)
        # as load nears output, and unchoke it when the margin is back
        sog = np.isin(np.array(self.tracker_of), sorted(self.unreachable)) if self.n and self.unreachable else np.zeros(self.n, dtype=bool)
        if sog.any():  # dispatchable units on their own follow their trees' load within reach (scowl.model.cutoff)
            units, reach = self.reach_on_own()
            self.setpoint, self.output = on_own_mw(self.setpoint, self.output, load, reach, sog & units)
        warn, unchoke, self.warned = response.sog_signals(load, self.output, self.warned, sog, self.response.capacity_low_threshold,
                                                          self.response.unchoke_threshold, members=self.members)
        self.capacity_low_sent += warn
        blacked = load > self.output * (1 + BLACKOUT_TOLERANCE) + BLACKOUT_TOLERANCE
        new_events = blacked & ~self.blacked
        self.blackout_events += int(new_events.sum())
        self.blackout_ticks += blacked
        self.blacked = blacked
        affected = int(self.members[blacked].sum())
        self.consumers_blacked_out += affected
        self.publish(wire.Verdict(tick, self.name, self.gen_ids[blacked].tolist(), self.gen_ids[warn].tolist(), self.gen_ids[unchoke].tolist()))
        delivered = np.where(blacked, 0.0, load)
        figures = {
            "generators": self.n, "available_mw": float(self.available.sum()), "output_mw": float(self.output.sum()),
            "load_mw": float(load.sum()), "delivered_mw": float(delivered.sum()), "blacked_out": int(blacked.sum()),
            "blackout_events": int(new_events.sum()), "blackout_consumers": affected,
            "gas_setpoint_mw": float(self.setpoint[cont].sum()), "reachable_mw": float(self.reachable.sum()),
            "tree_members": int(self.members.sum()), "overloaded_not_blacked": int(((load > self.output + 1e-9) & ~blacked).sum()),
            "sog": int(sog.sum()), "capacity_low": int(warn.sum()), "unchoked": int(unchoke.sum()), "warned": int(self.warned.sum()),
            **self.view(),
        }
        owner = np.array(self.tracker_of) if self.n else np.zeros(0, dtype=str)
        for tracker in self.plan.trackers:  # blackouts by region (the tracker bucket a generator belongs to)
            figures[f"blackouts_region:{tracker}"] = int(blacked[owner == tracker].sum())
        for code in np.unique(self.type_code):
            sel = self.type_code == code
            label = TYPE_NAMES[code] if code < len(TYPE_NAMES) else "EV storage"
            figures[f"out_{label}"] = float(np.where(blacked[sel], 0.0, load[sel]).sum())
            figures[f"avail_{label}"] = float(self.available[sel].sum())
        self.settle(tick, delivered, figures)
        self.done(tick, figures)

    def final_figures(self) -> dict[str, float]:
        per_gen = {f"capacity_low:{int(g)}": int(c) for g, c in zip(self.gen_ids, self.capacity_low_sent) if c}
        return {**per_gen, "capacity_low_sent": int(self.capacity_low_sent.sum()), "generators": self.n, "blackout_events": self.blackout_events,
                "blackout_generator_ticks": int(self.blackout_ticks.sum()),
                "blackout_consumer_ticks": self.consumers_blacked_out}


def _pub_address(actor) -> str:
    return bind_address(actor.plan, f"{actor.name}-pub")
