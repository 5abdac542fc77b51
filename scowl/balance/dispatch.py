"""Continuous (gas) dispatch and storage (EV fleet) policy, as pure vectorized functions.

A tracker's round: ingest updates; `required_output` -> `dispatch` the continuous
generators (their new setpoints become their output); `storage_setpoints` for the EV hubs
on what surplus or deficit remains; then `scowl.balance.rebalance`.

Units: generator and hub powers MW (hubs: + discharge, - charge), ramp MW per tick. No randomness, no clock, no mutation of the inputs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["dispatch", "ramp_room", "required_output", "storage_setpoints"]


def required_output(demand_mw: float, fixed_output_mw: float, safety_threshold: float = 0.10) -> float:
    """What the continuous generators should produce, MW: enough that the region's demand
    sits at (1 - threshold) of total output, less what non-dispatchable generators give."""
    if not 0.0 <= safety_threshold < 1.0:
        raise ValueError(f"safety_threshold: expected 0 <= threshold < 1, found {safety_threshold}")
    return demand_mw / (1.0 - safety_threshold) - fixed_output_mw


def _arrays(**named: ArrayLike) -> list[NDArray[np.float64]]:
    out = [np.asarray(v, dtype=np.float64) for v in named.values()]
    shape = out[0].shape
    for (name, _), a in zip(named.items(), out):
        if a.shape != shape or a.ndim != 1:
            raise ValueError(f"{name}: expected a 1-D array of shape {shape}, found shape {a.shape}")
        if not np.isfinite(a).all():
            raise ValueError(f"{name}: expected finite values, found {a[~np.isfinite(a)][0]}")
    return out


def dispatch(setpoint: ArrayLike, pmin: ArrayLike, pmax: ArrayLike, ramp: ArrayLike, required_mw: float) -> NDArray[np.float64]:
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
    out: NDArray[np.float64] = np.clip(x, lo, hi)
    return out


def ramp_room(setpoint: ArrayLike, available: ArrayLike, pmax: ArrayLike, ramp: ArrayLike) -> float:
    """What dispatchable units can add next tick, MW: each from its output now (its setpoint
    within what it has available) up its ramp, within its available output and nameplate. This
    is the firm part of a region's room: it does not rest on wind, sun or demand holding still."""
    sp, av, hi, ramp = _arrays(setpoint=setpoint, available=available, pmax=pmax, ramp=ramp)
    top = np.minimum(np.minimum(av, hi), sp + ramp)
    return float(np.maximum(top - np.minimum(sp, av), 0.0).sum())


def storage_setpoints(gap_mw: float, discharge_mw: ArrayLike, charge_mw: ArrayLike, safety_threshold: float = 0.10) -> NDArray[np.float64]:
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
