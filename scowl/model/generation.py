"""Supply: each generator's available output (MW) at a tick, by its type's output model (the
`output` column of data/generator_types.csv; one function per model in `_MODELS`):

- dispatch (gas, petroleum, pumped storage, imports; continuous): available = nameplate; the
  output is a setpoint the tracker dispatches between min_mw and nameplate, moved by at most
  ramp_mw a tick (`ramp_limit`);
- nuclear, other_renewables (fixed): their fixed output min_mw, the month's observed factor
  (data/output_factors.csv; nuclear_factor overrides nuclear's);
- hydro: a day level at the month's observed factor (EIA monthly mean generation / capacity; or
  weather.hydro_level) with the month's std/mean as spread, plus a slow 2 % AR(1) wiggle;
- wind_land, wind_offshore: the month's mean capacity factor mu (data/output_factors.csv, or
  weather.wind_mean) x exp(s X_t - s^2 / 2), clipped to [0, 1]: lognormal around the mean with
  s = weather.wind_variability, X a unit AR(1) with correlation time wind_correlation_hours,
  70 % shared statewide (stream weather/wind) and 30 % the farm's own. s = 0.8 and 18 h give the
  fleet's one-hour change a p99 of 8-20 % of capacity in July and about the 3.9 % std over the
  year that NYISO's 2019 hourly data show (scowl validate checks both). With weather.wind_spread
  set, the notebook's linear model mu x (1 + spread X) instead;
- solar (utility and distributed): the clear-sky PV fraction for the sun over New York at the
  tick (zero when the sun is down; weather.pv_performance x GHI / 1,000 W/m^2, capped at 1) x
  (1 - cloud attenuation), the attenuation an AR(1) around weather.cloudiness with std
  cloud_variability x cloudiness (80 % shared statewide).
  pv_performance 1.2 (a DC/AC ratio of about 1.3 less 8 % losses) and cloudiness 0.32 (about the
  clear-sky index 0.68 of upstate New York's annual irradiance) make the annual capacity factor
  0.188, inside the 16.5-21.7 % observed for utility PV in 2023 (assumptions calibrated to that).

Then the stresses (scowl/model/stress.py): forced outages and the trip of the largest unit zero
a unit from its outage tick on; a low-wind evening scales wind down; a heat wave halves what the
imports can give (the neighbours are at their own peak). A scenario's own
availability series ([series] availability, scowl/model/series.py) replaces the model of the
types it names. Every generator's path comes from its own named stream (owner = its name) plus
the shared "weather" streams, so a generator actor computing only its own rows gets the same numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.model.mix import Generators
from scowl.model.solar import pv_fraction, solar_elevation
from scowl.model.stress import low_wind_factor, out_from_tick
from scowl.model.timeline import timeline
from scowl.model.types import FIXED, registry, type_info
from scowl.model.weather import ar1_path, ar1_phi
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["SupplyModel", "hydro_factor", "ramp_limit", "solar_profile", "wind_mean"]

_SHARED_WIND, _SHARED_CLOUD = 0.7, 0.8
#: Conventional hydro capacity the EIA monthly means are divided by (data/fleet_capacity.csv, PT20).
_HYDRO_MW = 4247.0


def ramp_limit(setpoint_prev: ArrayLike, target: ArrayLike, ramp: ArrayLike, min_mw: ArrayLike, max_mw: ArrayLike) -> Any:
    """The setpoint a ramp-limited unit reaches this tick: target clipped to prev +- ramp, then to
    [min_mw, max_mw]. Works on scalars and arrays alike."""
    moved = np.clip(target, np.asarray(setpoint_prev) - ramp, np.asarray(setpoint_prev) + ramp)
    return np.clip(moved, min_mw, max_mw)


def solar_profile(scenario: Scenario) -> np.ndarray:
    """Clear-sky PV fraction of nameplate at each tick start (length ticks + 1)."""
    tl = timeline(scenario)
    return pv_fraction(solar_elevation(tl.day_of_year, tl.utc_hour), scenario.weather.pv_performance)


def wind_mean(scenario: Scenario, type_name: str) -> float:
    """Mean capacity factor of a wind type on the scenario's date (or weather.wind_mean)."""
    w = scenario.weather.wind_mean
    return w if w is not None else data.output_factor(type_name, scenario.scenario.date.month)


def hydro_factor(month: int) -> float:
    """Observed mean hydro output in `month` as a fraction of capacity: EIA's monthly mean
    generation (data/monthly_variability.csv) / (4,247 MW x the month's hours)."""
    import calendar

    hours = calendar.monthrange(2021, month)[1] * 24
    return data.monthly(month)["hydro_mean_kmwh"] * 1000.0 / (_HYDRO_MW * hours)


class _Context:
    """What the output models share for one scenario (built once per SupplyModel)."""

    def __init__(self, scenario: Scenario, repo: StreamRepo) -> None:
        w = scenario.weather
        self.scenario, self.repo, self.steps = scenario, repo, scenario.ticks + 1
        dt_s = scenario.tick_seconds
        self.month = scenario.scenario.date.month
        var = data.monthly(self.month)
        self.hydro_spread = var["hydro_std_kmwh"] / var["hydro_mean_kmwh"]
        self.phi_wind = ar1_phi(dt_s, w.wind_correlation_hours * 3600)
        self.phi_cloud = ar1_phi(dt_s, w.cloud_correlation_minutes * 60)
        self.phi_hydro = ar1_phi(dt_s, 3 * 3600)
        self.shared_wind = ar1_path(repo.generator("weather", "wind"), self.steps, self.phi_wind)
        self.shared_cloud = ar1_path(repo.generator("weather", "cloud"), self.steps, self.phi_cloud)
        self.sun = solar_profile(scenario)
        self.calm = low_wind_factor(scenario, timeline(scenario).local_hour)


def _wind(ctx: _Context, name: str, type_name: str) -> np.ndarray:
    w = ctx.scenario.weather
    x = _SHARED_WIND * ctx.shared_wind + np.sqrt(1 - _SHARED_WIND**2) * ar1_path(ctx.repo.generator(name, "wind"), ctx.steps, ctx.phi_wind)
    mu = wind_mean(ctx.scenario, type_name)
    if w.wind_spread is not None:  # the notebook's linear model
        f = mu * (1 + w.wind_spread * x)
    else:
        s = w.wind_variability
        f = mu * np.exp(s * x - s * s / 2)
    factor: NDArray[np.float64] = np.clip(f, 0.0, 1.0) * ctx.calm
    return factor


def _solar(ctx: _Context, name: str, type_name: str) -> np.ndarray:
    x = _SHARED_CLOUD * ctx.shared_cloud + np.sqrt(1 - _SHARED_CLOUD**2) * ar1_path(ctx.repo.generator(name, "cloud"), ctx.steps, ctx.phi_cloud)
    w = ctx.scenario.weather
    atten = np.clip(w.cloudiness * (1 + w.cloud_variability * x), 0.0, 0.95)
    factor: NDArray[np.float64] = ctx.sun * (1 - atten)
    return factor


def _hydro(ctx: _Context, name: str, type_name: str) -> np.ndarray:
    rng = ctx.repo.generator(name, "hydro")
    lvl = ctx.scenario.weather.hydro_level
    base = hydro_factor(ctx.month) if lvl is None else lvl
    level = base * (1 + ctx.hydro_spread * rng.standard_normal())
    return np.clip(level + 0.02 * ar1_path(rng, ctx.steps, ctx.phi_hydro), 0.0, 1.0)


def _one(ctx: _Context, name: str, type_name: str) -> np.ndarray:
    return np.ones(ctx.steps)


#: The one model entry per output model named in data/generator_types.csv. Fixed kinds give 1
#: here and are set to their min_mw (their fixed output) below.
_MODELS = {"dispatch": _one, "nuclear": _one, "other_renewables": _one, "hydro": _hydro,
           "wind_land": _wind, "wind_offshore": _wind, "solar": _solar}


class SupplyModel:
    """Available output of generators over the scenario's day, precomputed at construction.

    `SupplyModel(generators, scenario, repo, indices=None)`; `available(tick)` -> MW per selected
    generator (continuous units: their nameplate); `profile` -> (ticks + 1, n) array of MW;
    `out_from` -> the tick each selected unit goes out (ticks + 1: never).
    """

    def __init__(self, generators: Generators, scenario: Scenario, repo: StreamRepo | None = None, indices: ArrayLike | None = None) -> None:
        from scowl.model.series import availability_series

        repo = repo or StreamRepo(scenario.seed)
        idx = np.arange(len(generators)) if indices is None else np.asarray(indices, dtype=np.int64)
        self.indices = idx
        ctx = _Context(scenario, repo)
        reg = registry()
        cap = generators.nameplate_mw[idx]
        code = generators.type_code[idx]
        factor = np.zeros((ctx.steps, len(idx)))
        for j, i in enumerate(idx):
            t = reg[code[j]]
            factor[:, j] = _MODELS[t.output](ctx, generators.name[i], t.name)
        self.profile = factor * cap[None, :]
        fixed = generators.kind[idx] == FIXED
        self.profile[:, fixed] = generators.min_mw[idx][fixed][None, :]
        if scenario.stress.heat_wave:  # the neighbours at their own peak keep their power
            imp = code == type_info("imports").code
            self.profile[:, imp] *= data.stress()["heat_wave_imports_factor"]
        own = availability_series(scenario)
        for t_name, frac in own.items():
            cols = code == type_info(t_name).code
            self.profile[:, cols] = frac[:, None] * cap[cols][None, :]
        self.out_from = out_from_tick(generators, scenario, repo)[idx]
        for col in np.flatnonzero(self.out_from <= scenario.ticks):
            self.profile[int(self.out_from[col]):, col] = 0.0
        self.profile.setflags(write=False)

    def available(self, tick: int) -> np.ndarray:
        """Available MW of each selected generator at `tick` (0 <= tick <= ticks)."""
        mw: NDArray[np.float64] = self.profile[tick]
        return mw
