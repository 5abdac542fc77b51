"""The stresses of a day, from the world ([stress] in the scenario; sizes and sources in
data/stress.csv and data/outage_rates.csv). Pure functions of the scenario, the fleet and named
streams:

- forced_outages: each unit whose technology has a published forced outage rate (EFORd) is out
  for the whole day with that probability, drawn from its own stream (owner = the unit's name,
  stream "outage"), so one generator actor alone draws the same as the whole fleet;
- trip_largest_at = "HH:MM": the largest unit still in service trips at that local time and stays
  out (the loss of the largest single source, the contingency operating reserves are sized for);
- heat_wave: the day's peak is the season's x (1 + heat_wave_uplift), and imports give only
  heat_wave_imports_factor of their capability (applied in generation.py);
- low_wind_evening: wind output x low_wind_factor between the evening hours, easing over an hour;
- retirements: the peaker units leave the fleet (applied in scowl/model/fleet.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario
    from scowl.model.mix import Generators

__all__ = ["demand_uplift", "forced_outages", "low_wind_factor", "out_from_tick", "outage_rate", "trip_tick"]


def outage_rate(technology: str) -> float:
    """EFORd of a technology (0 where data/outage_rates.csv has none: weather-driven types)."""
    return data.outage_rates().get(technology, 0.0)


def forced_outages(names: Sequence[str], technology: Sequence[str], repo: StreamRepo) -> NDArray[np.bool_]:
    """True for each unit (by name and technology) in forced outage for the day."""
    out = np.zeros(len(names), dtype=bool)
    for i, (n, t) in enumerate(zip(names, technology)):
        rate = outage_rate(t)
        if rate > 0:
            out[i] = repo.generator(n, "outage").random() < rate
    return out


def trip_tick(scenario: Scenario) -> int | None:
    """The first tick at or after the trip time, or None (no trip, or not within the run)."""
    at = scenario.stress.trip_largest_at
    if at is None:
        return None
    from scowl.model.timeline import timeline

    h, m = (int(x) for x in at.split(":"))
    hours = timeline(scenario).local_hour
    elapsed = (hours - hours[0]) % 24.0
    target = (h + m / 60 - hours[0]) % 24.0
    ticks = np.flatnonzero(elapsed >= target - 1e-9)
    return int(ticks[0]) if len(ticks) else None


def out_from_tick(generators: Generators, scenario: Scenario, repo: StreamRepo) -> np.ndarray:
    """For every unit of the fleet, the first tick it is out (0: all day; ticks + 1: never)."""
    n = len(generators)
    first = np.full(n, scenario.ticks + 1, dtype=np.int64)
    st = scenario.stress
    if st.forced_outages:
        first[forced_outages(generators.name, generators.technology, repo)] = 0
    tt = trip_tick(scenario)
    if tt is not None:
        from scowl.model.types import STOCHASTIC

        cand = np.flatnonzero((first > scenario.ticks) & (generators.kind != STOCHASTIC))
        if len(cand):
            big = cand[np.argmax(generators.nameplate_mw[cand])]
            first[big] = tt
    return first


def demand_uplift(scenario: Scenario) -> float:
    """Factor on the day's load: 1 + heat_wave_uplift on a heat-wave day, else 1."""
    return 1.0 + data.stress()["heat_wave_uplift"] if scenario.stress.heat_wave else 1.0


def low_wind_factor(scenario: Scenario, local_hour: ArrayLike) -> NDArray[np.float64]:
    """Multiplier on wind output at each local hour: 1, or down to low_wind_factor over the
    evening window (linear over the first and last hour of it)."""
    h = np.asarray(local_hour, dtype=np.float64)
    if not scenario.stress.low_wind_evening:
        return np.ones_like(h)
    s = data.stress()
    f, a, b = s["low_wind_factor"], s["low_wind_start_hour"], s["low_wind_end_hour"]
    depth = np.clip(np.minimum(h - a, b - h), 0.0, 1.0)  # 0 outside, 1 an hour inside the window
    return 1.0 - (1.0 - f) * depth
