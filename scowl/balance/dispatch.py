"""Continuous (gas) dispatch and storage (EV fleet) policy, as pure vectorized functions.

A tracker's round: ingest updates; `required_output` -> `dispatch` the continuous
generators (their new setpoints become their output); `storage_power` for the EV fleet
on what surplus or deficit remains; then `scowl.balance.rebalance`.

Units: generator powers MW, ramp MW per tick; EV energy kWh, EV power kW (+ charge,
- discharge), tick length hours. No randomness, no clock, no mutation of the inputs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["advance_soc", "dispatch", "required_output", "storage_power", "storage_setpoints"]


def required_output(demand_mw: float, fixed_output_mw: float, safety_threshold: float = 0.10) -> float:
    """What the continuous generators should produce, MW: enough that the region's demand
    sits at (1 - threshold) of total output, less what non-dispatchable generators give."""
    if not 0.0 <= safety_threshold < 1.0:
        raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
    return demand_mw / (1.0 - safety_threshold) - fixed_output_mw


def _arrays(**named) -> list[np.ndarray]:
    out = [np.asarray(v, dtype=np.float64) for v in named.values()]
    shape = out[0].shape
    for (name, _), a in zip(named.items(), out):
        if a.shape != shape or a.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array of shape {shape}, found shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: expected finite values, found {a[~np.isfinite(a)][0]}")
    return out


def dispatch(setpoint, pmin, pmax, ramp, required_mw: float) -> np.ndarray:
    """New setpoints (MW) for continuous generators, moving their total towards `required_mw`.

    Each unit stays within [pmin, pmax] and within `ramp` (MW per tick, >= 0) of its setpoint;
    a unit outside its bounds is first brought towards them as far as its ramp allows. The
    change is shared in proportion to each unit's room in that direction, so units near a
    limit move least. When `required_mw` is out of reach every unit ends at its limit."""
    sp, lo_b, hi_b, ramp = _arrays(setpoint=setpoint, pmin=pmin, pmax=pmax, ramp=ramp)
    if (ramp < 0).any() or (lo_b > hi_b).any():
        raise ValueError("dispatch: expected ramp >= 0 and pmin <= pmax for every unit")
    if not np.isfinite(required_mw):
        raise ValueError(f"dispatch required_mw: expected a finite MW figure, found {required_mw}")
    lo = np.minimum(np.maximum(lo_b, sp - ramp), sp + ramp)
    hi = np.maximum(np.minimum(hi_b, sp + ramp), sp - ramp)
    x = np.clip(sp, lo, hi)
    delta = required_mw - float(x.sum())
    room = (hi - x) if delta > 0 else (x - lo)
    total = float(room.sum())
    if total > 0 and delta != 0:
        share = min(1.0, abs(delta) / total)
        x = x + np.sign(delta) * share * room
    return np.clip(x, lo, hi)


def storage_power(
    balance_mw: float,
    soc_kwh,
    capacity_kwh,
    max_rate_kw,
    plugged,
    tick_hours: float,
    *,
    floor: float = 0.2,
) -> np.ndarray:
    """Per-EV power, kW: + charging on a surplus (`balance_mw` > 0), - discharging on a
    deficit (`balance_mw` < 0). Only plugged-in EVs take part; none exceeds its rate, none
    charges past its capacity within the tick, none discharges below `floor` x capacity.
    The fleet's total magnitude is min(|balance|, what the fleet can do), shared in
    proportion to each EV's own limit. Lossless; see `advance_soc`."""
    soc, cap, rate = _arrays(soc_kwh=soc_kwh, capacity_kwh=capacity_kwh, max_rate_kw=max_rate_kw)
    plugged = np.asarray(plugged, dtype=bool)
    if plugged.shape != soc.shape:
        raise ValueError(f"plugged: expected shape {soc.shape}, found {plugged.shape}")
    if tick_hours <= 0 or not 0.0 <= floor <= 1.0:
        raise ValueError(f"storage_power: expected tick_hours > 0 and 0 <= floor <= 1, found {tick_hours}, {floor}")
    want_kw = abs(balance_mw) * 1000.0
    if balance_mw > 0:
        limit = np.minimum(rate, np.maximum(cap - soc, 0.0) / tick_hours)
    elif balance_mw < 0:
        limit = np.minimum(rate, np.maximum(soc - floor * cap, 0.0) / tick_hours)
    else:
        return np.zeros(soc.shape)
    limit = np.where(plugged, np.maximum(limit, 0.0), 0.0)
    total = float(limit.sum())
    if total <= 0:
        return np.zeros(soc.shape)
    power = limit * min(1.0, want_kw / total)
    return power if balance_mw > 0 else -power


def advance_soc(soc_kwh, capacity_kwh, power_kw, tick_hours: float) -> np.ndarray:
    """State of charge after a tick at `power_kw`, kWh, kept within [0, capacity]."""
    soc, cap, power = _arrays(soc_kwh=soc_kwh, capacity_kwh=capacity_kwh, power_kw=power_kw)
    return np.clip(soc + power * tick_hours, 0.0, cap)


def storage_setpoints(gap_mw: float, discharge_mw, charge_mw, safety_threshold: float = 0.10) -> np.ndarray:
    """Setpoints (MW; + discharge, - charge) for a region's EV hubs after gas dispatch.

    `gap_mw` is what the region still needs from storage: required output (demand at
    (1 - threshold) of output) minus what fixed, stochastic and gas units give. A positive gap
    (deficit) asks the hubs to discharge up to their limits; a negative one (surplus) lets them
    charge with what the surplus leaves under the safety margin, -gap x (1 - threshold), so
    charging never pushes the region past its margin. Shared in proportion to each hub's limit."""
    dis, chg = _arrays(discharge_mw=discharge_mw, charge_mw=charge_mw)
    if (dis < 0).any() or (chg < 0).any():
        raise ValueError("storage_setpoints: expected discharge_mw >= 0 and charge_mw >= 0 for every hub")
    if not np.isfinite(gap_mw):
        raise ValueError(f"storage_setpoints gap_mw: expected a finite MW figure, found {gap_mw}")
    if gap_mw > 0 and dis.sum() > 0:
        return dis * min(1.0, gap_mw / float(dis.sum()))
    if gap_mw < 0 and chg.sum() > 0:
        room = -gap_mw * (1.0 - safety_threshold)
        return -chg * min(1.0, room / float(chg.sum()))
    return np.zeros(dis.shape)
