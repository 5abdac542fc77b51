"""Supply: each generator's available output (MW) at a tick.

- nuclear (fixed): nuclear_factor x nameplate, constant;
- hydro (stochastic): a day level drawn around hydro_level (90 %) with the month's std/mean, plus
  a slow 2 % AR(1) wiggle;
- land and offshore wind (stochastic): wind_mean (80 %) x (1 + spread x X_t), X an AR(1) with
  correlation time wind_correlation_hours (shared statewide 70 % + own 30 % of the variance split
  as 0.7 / sqrt(0.51) weights), clipped to [0, 1] of nameplate; spread = the month's (facts);
- utility and distributed solar (stochastic): clear-sky PV fraction for the sun over New York at
  the tick (zero at night) x (1 - cloud attenuation), the attenuation an AR(1) around cloudiness;
- gas and petroleum (continuous): available = nameplate; the output is a setpoint between min_mw
  and nameplate that the tracker dispatches, moved by at most ramp_mw a tick (`ramp_limit`).

Every generator's path comes from its own named stream (owner = its name) plus the shared
"weather" streams, so a generator actor computing only its own row gets the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from scowl.model import data
from scowl.model.mix import TYPE_CODES, Generators
from scowl.model.solar import pv_fraction, solar_elevation
from scowl.model.timeline import timeline
from scowl.model.weather import ar1_path, ar1_phi
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["SupplyModel", "ramp_limit", "solar_profile"]

_WIND = (TYPE_CODES["land-based wind"], TYPE_CODES["offshore wind"])
_SOLAR = (TYPE_CODES["utility-scale solar"], TYPE_CODES["distributed solar"])
_HYDRO = TYPE_CODES["hydroelectric"]
_SHARED_WIND, _SHARED_CLOUD = 0.7, 0.8


def ramp_limit(setpoint_prev, target, ramp, min_mw, max_mw):
    """The setpoint a ramp-limited unit reaches this tick: target clipped to prev +- ramp, then to
    [min_mw, max_mw]. Works on scalars and arrays alike."""
    moved = np.clip(target, np.asarray(setpoint_prev) - ramp, np.asarray(setpoint_prev) + ramp)
    return np.clip(moved, min_mw, max_mw)


def solar_profile(scenario: Scenario) -> np.ndarray:
    """Clear-sky PV fraction of nameplate at each tick start (length ticks + 1)."""
    tl = timeline(scenario)
    perf = data.system()["solar_wind_output_fraction"]
    return pv_fraction(solar_elevation(tl.day_of_year, tl.utc_hour), perf)


class SupplyModel:
    """Available output of generators over the scenario's day, precomputed at construction.

    `SupplyModel(generators, scenario, repo, indices=None)`; `available(tick)` -> MW per selected
    generator (continuous units: their nameplate); `profile` -> (ticks + 1, n) array of MW.
    """

    def __init__(self, generators: Generators, scenario: Scenario, repo: StreamRepo | None = None, indices=None) -> None:
        repo = repo or StreamRepo(scenario.seed)
        idx = np.arange(len(generators)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.indices = idx
        w = scenario.weather
        steps = scenario.ticks + 1
        dt_s = scenario.tick_seconds
        month = scenario.scenario.date.month
        var = data.monthly(month)
        hydro_spread = var["hydro_std_kmwh"] / var["hydro_mean_kmwh"]
        wind_spread = var["solar_wind_spread"] if w.wind_spread is None else w.wind_spread
        phi_wind = ar1_phi(dt_s, w.wind_correlation_hours * 3600)
        phi_cloud = ar1_phi(dt_s, w.cloud_correlation_minutes * 60)
        phi_hydro = ar1_phi(dt_s, 3 * 3600)
        shared_wind = ar1_path(repo.generator("weather", "wind"), steps, phi_wind)
        shared_cloud = ar1_path(repo.generator("weather", "cloud"), steps, phi_cloud)
        sun = solar_profile(scenario)

        cap = generators.nameplate_mw[idx]
        code = generators.type_code[idx]
        factor = np.zeros((steps, len(idx)))
        for j, i in enumerate(idx):
            c, name = code[j], generators.name[i]
            if c in _WIND:
                x = _SHARED_WIND * shared_wind + np.sqrt(1 - _SHARED_WIND**2) * ar1_path(repo.generator(name, "wind"), steps, phi_wind)
                factor[:, j] = np.clip(w.wind_mean * (1 + wind_spread * x), 0.0, 1.0)
            elif c in _SOLAR:
                x = _SHARED_CLOUD * shared_cloud + np.sqrt(1 - _SHARED_CLOUD**2) * ar1_path(repo.generator(name, "cloud"), steps, phi_cloud)
                atten = np.clip(w.cloudiness * (1 + x), 0.0, 0.95)
                factor[:, j] = sun * (1 - atten)
            elif c == _HYDRO:
                rng = repo.generator(name, "hydro")
                level = w.hydro_level * (1 + hydro_spread * rng.standard_normal())
                factor[:, j] = np.clip(level + 0.02 * ar1_path(rng, steps, phi_hydro), 0.0, 1.0)
            else:  # fixed (min_mw = its fixed output) and continuous (available = nameplate)
                factor[:, j] = 1.0
        fixed_or_cont = (generators.kind[idx] == 0)
        self.profile = factor * cap[None, :]
        self.profile[:, fixed_or_cont] = generators.min_mw[idx][fixed_or_cont][None, :]
        self.profile.setflags(write=False)

    def available(self, tick: int) -> np.ndarray:
        """Available MW of each selected generator at `tick` (0 <= tick <= ticks)."""
        return self.profile[tick]
