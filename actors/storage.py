"""A storage fleet: the EVs of the run as a few EV hubs, each a storage super-peer that the
trackers see as a generator of kind STORAGE (scowl.model.hubs).

It speaks the generator fleets' protocol, so trees, draws, verdicts and blackouts work for it
unchanged: each tick it reports each hub's available discharge (and the charge it could take);
the hub's tracker answers with a setpoint, + discharge on a deficit or - charge on a surplus
(scowl.balance.dispatch.storage_setpoints); consumers the tracker places on a discharging hub draw from
it, and a hub whose tree draws more than it can give blacks out like any generator. At the end
of the tick the EVs' state of charge moves by what their hub really delivered (its tree's draw,
nothing if blacked out) and what it charged; EVs on the road use their trip energy, and a
depleted EV sleeps (will not discharge) until charged above its sleep threshold.

Its books close every tick: energy in the batteries at the end = at the start + charged -
delivered - driven (the storage figures of the state log)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from scowl.actors.generator import GeneratorFleet
from scowl.model import (
    STORAGE,
    asleep,
    build_evs,
    build_hubs,
    build_population,
    hub_output_mw,
    hub_setpoint_mw,
    timeline,
)
from scowl.model.hubtick import HubTick
from scowl.streams import StreamRepo

STORAGE_TYPE_CODE = np.uint8(255)  # not a fuel type of the mix


class StorageFleet(GeneratorFleet):
    role = "storage"

    def build_units(self, scenario, repo: StreamRepo) -> None:
        pop = build_population(scenario, repo)
        evs = build_evs(scenario, pop, repo)
        del pop
        self.hubs = build_hubs(evs, len(self.rows))
        n = len(self.rows)
        self.names = [f"{self.name}/hub-{int(h)}" for h in self.rows]
        self.type_code = np.full(n, STORAGE_TYPE_CODE, dtype=np.uint8)
        self.kind = np.full(n, STORAGE, dtype=np.uint8)
        counts = np.bincount(self.hubs.hub, minlength=n)
        self.nameplate = counts * evs.rate_kw / 1000.0  # every EV of the hub plugged in and awake
        self.pmin = np.zeros(n)
        self.ramp = self.nameplate.copy()  # a battery follows its setpoint within the tick
        self.tl = timeline(scenario)
        self.tick_hours = scenario.tick_seconds / 3600.0
        self.hub_tick = HubTick(self.hubs, scenario.tick_seconds)  # the per-tick arithmetic in work buffers
        # the next tick's start, computed ahead in a worker thread (numpy lets go of the GIL)
        # once this tick is settled: (tick, its future)
        self._ahead: tuple[int, Future[tuple[float, np.ndarray, np.ndarray, np.ndarray]]] | None = None
        self._worker = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-hubs")
        self.plugged = np.ones(len(evs), dtype=bool)
        self.charge_cap = np.zeros(n)
        self.books = {"charged_mwh": 0.0, "delivered_mwh": 0.0, "driven_mwh": 0.0,
                      "state_of_charge_start_mwh": float(self.hubs.stored_kwh.sum() / 1000.0)}

    def placement_weight(self) -> np.ndarray:
        return np.zeros(len(self.rows))  # consumers are placed by the generators' nameplate

    def availability(self, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """The hubs' start of `tick`, as computed ahead when the last tick was settled (the
        statuses leave at once: at the whole state they took ~15-45 ms at the tick's start,
        ahead of this process's populations' reports, the tick's critical path)."""
        got = None
        if self._ahead is not None:
            ahead, fut = self._ahead
            self._ahead = None
            got = fut.result()  # (done long since: the verdicts, the books and the tick's start came between)
            if ahead != tick:  # not this tick (a tick skipped): dropped, nothing of it was committed
                got = None
        if got is None:
            got = self.hub_tick.prepare(self._minute(tick), self.tick_hours)
        self.hub_tick.commit()
        self.driven_kwh, self.plugged, dis, chg = got
        self.charge_cap = chg
        return dis, chg

    def _minute(self, tick: int) -> float:
        return float(self.tl.local_hour[tick]) * 60.0

    def output_now(self) -> np.ndarray:
        return hub_output_mw(self.setpoint, self.available)

    def follow_setpoints(self, upd: np.ndarray, target: np.ndarray) -> None:
        self.setpoint[upd] = hub_setpoint_mw(target[upd], self.charge_cap[upd], self.available[upd])

    def reach_on_own(self) -> tuple[np.ndarray, np.ndarray]:
        """Every hub on its own gives up to its available discharge (scowl.model.cutoff)."""
        return np.ones(self.n, dtype=bool), self.available

    def settle(self, tick: int, delivered: np.ndarray, figures: dict) -> None:
        charged, given = self.hub_tick.settle(self.setpoint, delivered, self.charge_cap, self.tick_hours)
        self.books["charged_mwh"] += charged
        self.books["delivered_mwh"] += given
        self.books["driven_mwh"] += self.driven_kwh / 1000.0
        figures.update({
            "evs": len(self.hubs.stored_kwh), "plugged": int(self.plugged.sum()),
            "asleep": int(asleep(self.hubs.stored_kwh, self.hubs.evs.sleep_kwh).sum()),
            "charge_mw": charged / self.tick_hours, "discharge_mw": given / self.tick_hours,
            "charge_available_mw": float(self.charge_cap.sum()), "driven_mwh": self.driven_kwh / 1000.0,
            "state_of_charge_mwh": float(self.hubs.stored_kwh.sum() / 1000.0),
        })
        # the next tick's start needs only this state of charge: computed ahead, committed at that tick
        if tick + 1 < len(self.tl.local_hour) and not self._stopping:
            self._ahead = (tick + 1, self._worker.submit(self.hub_tick.prepare, self._minute(tick + 1), self.tick_hours))

    async def on_stop(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)
        await super().on_stop()

    def final_figures(self) -> dict[str, float]:
        out = super().final_figures()
        # a restarted storage actor rebuilt its EVs from the seed: its books cover its last life only
        out["restarted"] = 1 if self.rejoining else 0
        out.update(self.books, state_of_charge_end_mwh=float(self.hubs.stored_kwh.sum() / 1000.0), evs=len(self.hubs.stored_kwh),
                   storage_mwh=float(len(self.hubs.stored_kwh) * self.hubs.evs.capacity_kwh / 1000.0))
        return out
