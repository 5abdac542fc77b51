"""The day's energy by type, from available output and load: a merit-order estimate (pure).

Fixed and weather-driven units give what they can (weather-driven ones curtailed pro rata when
they alone exceed the load); the continuous types fill the rest in merit order: imports, gas,
pumped storage, petroleum (their minimum outputs and ramps ignored: this is the energy mix the day
implies, not the trackers' dispatch, which the run's state log records).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from scowl.model.types import CONTINUOUS, FIXED, registry

__all__ = ["MERIT_ORDER", "energy_by_type"]

MERIT_ORDER = ("imports", "natural gas-fired", "pumped storage", "petroleum-fired")


def energy_by_type(type_code: ArrayLike, kind: ArrayLike, profile: ArrayLike, demand_mw: ArrayLike, tick_hours: float) -> dict[str, float]:
    """MWh by type name over the day (every registry type, 0 where none); `profile` is
    (ticks + 1, n) available MW, `demand_mw` (ticks + 1,) load. Unserved load is "unserved"."""
    reg = registry()
    code = np.asarray(type_code)
    kind = np.asarray(kind)
    prof = np.asarray(profile, dtype=np.float64)
    d = np.asarray(demand_mw, dtype=np.float64)
    out = {t.name: 0.0 for t in reg}
    fixed = prof[:, kind == FIXED].sum(axis=1)
    weather_cols = (kind != FIXED) & (kind != CONTINUOUS)
    weather = prof[:, weather_cols].sum(axis=1)
    take_fixed = np.minimum(fixed, d)
    rest = d - take_fixed
    take_weather = np.minimum(weather, rest)
    rest = rest - take_weather
    f_scale = np.divide(take_fixed, fixed, out=np.zeros_like(fixed), where=fixed > 0)
    w_scale = np.divide(take_weather, weather, out=np.zeros_like(weather), where=weather > 0)
    for t in reg:
        sel = code == t.code
        if not sel.any():
            continue
        mw = prof[:, sel].sum(axis=1)
        if t.kind == FIXED:
            out[t.name] += float((mw * f_scale).sum() * tick_hours)
        elif t.kind != CONTINUOUS:
            out[t.name] += float((mw * w_scale).sum() * tick_hours)
    conts = [t for t in reg if t.kind == CONTINUOUS]
    order = [t for name in MERIT_ORDER for t in conts if t.name == name] + [t for t in conts if t.name not in MERIT_ORDER]
    for t in order:
        mw = prof[:, code == t.code].sum(axis=1)
        take = np.minimum(mw, rest)
        rest = rest - take
        out[t.name] += float(take.sum() * tick_hours)
    out["unserved"] = float(rest.sum() * tick_hours)
    return out
