"""The EV hubs' tick in work buffers: the same numbers, bit for bit, as `EVHubs.plugged` +
`EVHubs.drive` + `hub_limits_mw` at the tick's start and `settle_hubs` at its end
(scowl.model.hubs, the reference: tests/model/test_hub_tick.py compares them over a day).

Why: those functions make ~25 fresh arrays of a million EVs a tick, and each fresh array of
that size is new memory to fault in (glibc maps it and unmaps it again): at the whole state
the storage actor spent ~45 ms at each tick's start and ~45 ms before its verdict, both on
the tick's critical path, mostly on page faults (a `np.maximum` over 1 M float64: 4.3 ms into
a new array here, ~0.4 ms into an old one). Here every per-EV array is allocated once and
written with `out=`; the EVs' limits of the tick's start are kept for its settlement (the
state of charge does not move in between), not computed twice.

Pure arithmetic over arrays: no sockets, no clock; the caller owns the EVHubs."""

from __future__ import annotations

import math

import numpy as np

from scowl.model.hubs import EVHubs


class HubTick:
    def __init__(self, h: EVHubs, dt_s: float) -> None:
        n = len(h.stored_kwh)
        self.h = h
        self.dt_s = dt_s
        # the energy an away EV uses in a tick (float32, as scowl.model.storage.drive computes it)
        self.use = h.evs.trip_kwh * (dt_s / 60.0) / np.maximum(np.asarray(h.away_min, dtype=np.float32), 1.0)
        self.plugged = np.empty(n, dtype=bool)
        self.away = np.empty(n, dtype=bool)
        self.s32 = np.empty(n, dtype=np.float32)
        self.w32 = np.empty(n, dtype=np.float32)
        self.a = np.empty(n, dtype=np.float64)  # scratch (the next state of charge, then kW)
        self.b = np.empty(n, dtype=np.float64)  # scratch
        self.dis = np.empty(n, dtype=np.float64)  # per EV, kW (0 when away): kept from start to settle
        self.chg = np.empty(n, dtype=np.float64)
        self.dis_hub: np.ndarray = np.zeros(h.n_hubs)
        self.chg_hub: np.ndarray = np.zeros(h.n_hubs)

    def start(self, minute_of_day: float, tick_hours: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """The tick's start: who is plugged in, the trips' energy, then what each hub could
        discharge and charge for the whole tick. Returns (kWh driven, plugged, discharge MW,
        charge MW); `plugged` is this object's buffer (valid until the next start)."""
        got = self.prepare(minute_of_day, tick_hours)
        self.commit()
        return got

    def commit(self) -> None:
        """The state of charge `prepare` computed becomes the EVs' (the old one is scratch)."""
        self.h.stored_kwh, self.a = self.a, self.h.stored_kwh

    def prepare(self, minute_of_day: float, tick_hours: float) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """`start` without changing the EVs' state of charge until `commit` (so it can be
        computed ahead, and dropped); between the two, `settle` must not run."""
        h, e = self.h, self.h.evs
        # EVFleet.plugged: away when depart <= m < arrive; with whole minutes, m's floor decides
        m = math.floor(minute_of_day % 1440)
        np.less_equal(e.depart_min, m, out=self.away)
        np.greater(e.arrive_min, m, out=self.plugged)
        np.logical_and(self.away, self.plugged, out=self.away)
        np.logical_not(self.away, out=self.plugged)
        # scowl.model.storage.drive, in float32, then widened
        s32 = self.s32
        np.copyto(s32, h.stored_kwh, casting="same_kind")
        np.multiply(self.use, self.away, out=self.w32)  # np.where(away, use, 0.0) (use > 0): masked ufuncs are ~10x slower
        np.subtract(s32, self.w32, out=s32)
        np.maximum(s32, 0.0, out=s32)
        after, before = self.a, h.stored_kwh  # (after: the next state of charge, until commit)
        np.copyto(after, s32)
        np.subtract(before, after, out=self.b)
        driven = float(self.b.sum())
        # scowl.model.hubs._ev_limits_kw and hub_limits_mw, of the state after the trips
        th = tick_hours
        np.subtract(after, e.sleep_kwh, out=self.dis)
        np.maximum(self.dis, 0.0, out=self.dis)
        np.divide(self.dis, th, out=self.dis)
        np.minimum(self.dis, e.rate_kw, out=self.dis)
        np.multiply(self.dis, self.plugged, out=self.dis)  # np.where(plugged, dis, 0.0): dis >= 0, finite
        np.subtract(e.capacity_kwh, after, out=self.chg)
        np.maximum(self.chg, 0.0, out=self.chg)
        np.divide(self.chg, th, out=self.chg)
        np.minimum(self.chg, e.rate_kw, out=self.chg)
        np.multiply(self.chg, self.plugged, out=self.chg)
        self.dis_hub = np.bincount(h.hub, weights=self.dis, minlength=h.n_hubs)
        self.chg_hub = np.bincount(h.hub, weights=self.chg, minlength=h.n_hubs)
        return driven, self.plugged, self.dis_hub / 1000.0, self.chg_hub / 1000.0

    def settle(self, setpoint_mw: np.ndarray, delivered_mw: np.ndarray, charge_cap_mw: np.ndarray,
               tick_hours: float) -> tuple[float, float]:
        """scowl.model.hubs.settle_hubs for this tick (after `start`, the state of charge
        untouched since): (charged, delivered) MWh."""
        h = self.h
        charge = np.minimum(np.maximum(-setpoint_mw, 0.0), charge_cap_mw)
        hub_mw = np.asarray(np.where(charge > 0, -charge, delivered_mw), dtype=np.float64)
        if hub_mw.shape != (h.n_hubs,):
            raise ValueError(f"hub_mw: expected shape ({h.n_hubs},), found {hub_mw.shape}")
        # scowl.model.hubs.ev_power_kw with this tick's limits
        want = np.abs(hub_mw) * 1000.0
        with np.errstate(divide="ignore", invalid="ignore"):
            f_dis = np.where((hub_mw > 0) & (self.dis_hub > 0), np.minimum(1.0, want / self.dis_hub), 0.0)
            f_chg = np.where((hub_mw < 0) & (self.chg_hub > 0), np.minimum(1.0, want / self.chg_hub), 0.0)
        kw, tmp = self.a, self.b
        np.take(f_chg, h.hub, out=kw, mode="clip")  # (hubs in range; mode="raise" with out= is buffered: 10x slower)
        np.multiply(self.chg, kw, out=kw)
        np.take(f_dis, h.hub, out=tmp, mode="clip")
        np.multiply(self.dis, tmp, out=tmp)
        np.subtract(kw, tmp, out=kw)
        np.multiply(kw, tick_hours, out=tmp)
        np.add(h.stored_kwh, tmp, out=tmp)
        np.clip(tmp, 0.0, h.evs.capacity_kwh, out=h.stored_kwh)
        np.maximum(kw, 0.0, out=tmp)
        charged = float(tmp.sum() * tick_hours / 1000.0)
        np.minimum(kw, 0.0, out=tmp)
        delivered = float(-tmp.sum() * tick_hours / 1000.0)
        return charged, delivered
