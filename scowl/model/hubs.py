"""EV hubs: the EVs of a storage actor grouped into a few aggregate storage peers.

A tracker sees a hub as one generator of kind STORAGE: its available output is what its
plugged-in, awake EVs could discharge this tick, and it also reports what they could take as
charge. The tracker's setpoint for the hub (+ discharge, - charge, MW) is shared among the
hub's EVs in proportion to each EV's own limit, so no EV exceeds its charger rate, charges past
its battery or discharges below its sleep threshold (a depleted EV sleeps: it only takes charge).

EV j belongs to hub j mod n_hubs: balanced, and fixed for the run. Pure functions over arrays;
powers per EV in kW (+ charging, - delivering), per hub in
MW (+ delivering, as a generator's output)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from scowl.model.storage import EVFleet, drive

__all__ = ["EVHubs", "build_hubs", "ev_power_kw", "hub_limits_mw", "hub_output_mw", "hub_setpoint_mw", "settle_hubs"]


@dataclass
class EVHubs:
    """An EV fleet with each EV's hub, its state of charge (kWh, float64 so the books close)
    and minutes away from home per day (for the driving model)."""

    evs: EVFleet
    hub: np.ndarray  # int32 per EV
    n_hubs: int
    stored_kwh: np.ndarray  # float64 per EV
    away_min: np.ndarray  # float32 per EV

    def plugged(self, minute_of_day: float) -> np.ndarray:
        return self.evs.plugged(minute_of_day)

    def drive(self, minute_of_day: float, dt_s: float) -> float:
        """Use this tick's trip energy of the EVs on the road; returns kWh driven."""
        away = ~self.plugged(minute_of_day)
        before = self.stored_kwh
        after = drive(before, away, self.evs.trip_kwh, self.away_min, dt_s).astype(np.float64)
        self.stored_kwh = after
        return float((before - after).sum())


def build_hubs(evs: EVFleet, n_hubs: int) -> EVHubs:
    if n_hubs < 1:
        raise ValueError(f"n_hubs: expected at least 1, found {n_hubs}")
    hub = (np.arange(len(evs)) % n_hubs).astype(np.int32)
    away = (evs.arrive_min.astype(np.float32) - evs.depart_min.astype(np.float32))
    return EVHubs(evs, hub, n_hubs, evs.stored_kwh.astype(np.float64), away)


def _ev_limits_kw(h: EVHubs, plugged: np.ndarray, tick_hours: float) -> tuple[np.ndarray, np.ndarray]:
    e = h.evs
    dis = np.minimum(e.rate_kw, np.maximum(h.stored_kwh - e.sleep_kwh, 0.0) / tick_hours)
    chg = np.minimum(e.rate_kw, np.maximum(e.capacity_kwh - h.stored_kwh, 0.0) / tick_hours)
    return np.where(plugged, dis, 0.0), np.where(plugged, chg, 0.0)


def hub_limits_mw(h: EVHubs, plugged: np.ndarray, tick_hours: float) -> tuple[np.ndarray, np.ndarray]:
    """(discharge, charge) each hub could sustain for the whole tick, MW (both >= 0)."""
    dis, chg = _ev_limits_kw(h, plugged, tick_hours)
    return (np.bincount(h.hub, weights=dis, minlength=h.n_hubs) / 1000.0,
            np.bincount(h.hub, weights=chg, minlength=h.n_hubs) / 1000.0)


def ev_power_kw(h: EVHubs, hub_mw: np.ndarray, plugged: np.ndarray, tick_hours: float) -> np.ndarray:
    """Per-EV power for the hubs' powers (+ deliver, - charge, MW), each hub's power shared in
    proportion to its EVs' limits and capped at what they can do. + charging, - delivering."""
    hub_mw = np.asarray(hub_mw, dtype=np.float64)
    if hub_mw.shape != (h.n_hubs,):
        raise ValueError(f"hub_mw: expected shape ({h.n_hubs},), found {hub_mw.shape}")
    dis, chg = _ev_limits_kw(h, plugged, tick_hours)
    dis_hub = np.bincount(h.hub, weights=dis, minlength=h.n_hubs)
    chg_hub = np.bincount(h.hub, weights=chg, minlength=h.n_hubs)
    want = np.abs(hub_mw) * 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        f_dis = np.where((hub_mw > 0) & (dis_hub > 0), np.minimum(1.0, want / dis_hub), 0.0)
        f_chg = np.where((hub_mw < 0) & (chg_hub > 0), np.minimum(1.0, want / chg_hub), 0.0)
    kw: NDArray[np.float64] = chg * f_chg[h.hub] - dis * f_dis[h.hub]
    return kw


def hub_setpoint_mw(target_mw: np.ndarray, charge_cap_mw: np.ndarray, available_mw: np.ndarray) -> np.ndarray:
    """The setpoint a hub can follow: the tracker's target (+ discharge, - charge, MW) within
    what its EVs can give (`available_mw`) and take (`charge_cap_mw`) this tick."""
    setpoint: NDArray[np.float64] = np.clip(target_mw, -charge_cap_mw, available_mw)
    return setpoint


def hub_output_mw(setpoint_mw: np.ndarray, available_mw: np.ndarray) -> np.ndarray:
    """What a hub offers its tree as a generator: its discharge setpoint (0 while charging)."""
    output: NDArray[np.float64] = np.clip(setpoint_mw, 0.0, available_mw)
    return output


def settle_hubs(h: EVHubs, setpoint_mw: np.ndarray, delivered_mw: np.ndarray, charge_cap_mw: np.ndarray,
                plugged: np.ndarray, tick_hours: float) -> tuple[float, float]:
    """The end of a tick for every hub's EVs: a charging hub (negative setpoint) takes what it
    was asked, at most what its EVs can take; any other gives what its tree really drew
    (`delivered_mw`: nothing if it blacked out). Each hub's power is shared among its EVs
    (`ev_power_kw`) and their state of charge moves by it, within [0, capacity]. Returns
    (charged, delivered) MWh of the tick, the storage books' entries."""
    charge = np.minimum(np.maximum(-setpoint_mw, 0.0), charge_cap_mw)
    hub_mw = np.where(charge > 0, -charge, delivered_mw)
    kw = ev_power_kw(h, hub_mw, plugged, tick_hours)
    h.stored_kwh = np.clip(h.stored_kwh + kw * tick_hours, 0.0, h.evs.capacity_kwh)
    charged = float(np.maximum(kw, 0.0).sum() * tick_hours / 1000.0)
    delivered = float(-np.minimum(kw, 0.0).sum() * tick_hours / 1000.0)
    return charged, delivered
