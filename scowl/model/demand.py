"""Demand: per consumer per tick, in kW (float32).

demand_i(t) = base_kw_i x shape_kind(local hour of t) x max(0, 1 + sigma_kind x X_i(t))

- base_kw_i: the consumer's demand at the peak hour (population.py; means 1.31 kW per home and
  44.77 kW per commercial building, from the facts);
- shape_kind(t): the class's fraction of its summer-peak demand at tick t (`class_shapes`). The
  statewide total follows NYISO's hourly load shape for the date's season and day type
  (data/load_shapes.csv: the 2021 summer and winter peak days, weekends derived), scaled to the
  season's Gold Book peak (summer 32,121 MW, winter 25,275 MW; demand.peak_mw overrides) x the
  heat wave's uplift (stress), or follows the scenario's own load series ([series] load). What the
  fixed industrial and transportation loads leave is split between homes and commercial
  buildings by their peak MW x the relative class shapes below (`load_shape`: residential rises
  to the evening, commercial follows business hours and halves its daytime load on weekends), so
  the classes keep their timing and the total is exactly the season's shape;
- X_i: an AR(1) state per consumer (float32, unit variance, correlation time
  demand.correlation_minutes), innovations from a counter-based stream keyed by the consumer's
  global index and the tick: correlated in time, identical under any sharding.

Each consumer's demand splits into constant shares (`demand_shares`): a fixed part (end uses that
cannot wait: lighting, oven), deferrable end uses each with its deferral window (hvac 600 s, hot
water 300 s, fridge 180 s, washer/dryer 900 s, dishwasher 1,800 s, other 1,800 s), and a
demand-responsive part (scenario.demand_responsive_share) taken proportionally out of the
deferrable uses. Commercial buildings use the residential end-use table too (the facts give no
commercial one).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.model.mix import consumer_counts
from scowl.model.population import BLOCK, Population, mean_peak_kw
from scowl.model.stress import demand_uplift
from scowl.model.timeline import timeline
from scowl.model.weather import ar1_phi
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

#: consumers whose AR(1) state `advance` moves at a time, in one working space (20 bytes a
#: consumer: 1.25 MB, taken from what the allocator holds already; 2^18 took 5 MB a block, as
#: fast: the hash's passes stay in cache)
SCRATCH = 1 << 16

__all__ = [
    "COMMERCIAL_SHAPE",
    "RESIDENTIAL_SHAPE",
    "DemandModel",
    "DemandShares",
    "class_shapes",
    "demand_shares",
    "expected_demand_mw",
    "fixed_loads_mw",
    "load_shape",
    "season",
    "season_peak_mw",
    "total_load_mw",
]

#: Relative hourly timing of the two classes (fraction of the class's peak), 00:00 .. 23:00 local:
#: only how the non-fixed load splits between them (modelling assumption, not a fact).
RESIDENTIAL_SHAPE = np.array([
    0.62, 0.56, 0.52, 0.50, 0.50, 0.53, 0.60, 0.66, 0.66, 0.65, 0.66, 0.69,
    0.73, 0.77, 0.82, 0.88, 0.95, 1.00, 0.99, 0.96, 0.92, 0.86, 0.77, 0.68,
])
COMMERCIAL_SHAPE = np.array([
    0.45, 0.43, 0.42, 0.42, 0.43, 0.47, 0.56, 0.70, 0.83, 0.91, 0.95, 0.97,
    0.98, 0.99, 1.00, 1.00, 1.00, 1.00, 0.92, 0.80, 0.68, 0.58, 0.52, 0.48,
])
_WEEKEND_COMMERCIAL_BASE = 0.45


def load_shape(hours: ArrayLike, weekday: ArrayLike, kind: int) -> NDArray[np.float64]:
    """Fraction of peak demand for consumers of `kind` (0 residential, 1 commercial) at local
    `hours` (float, 0-24); `weekday` is a bool array (False = weekend)."""
    table = RESIDENTIAL_SHAPE if kind == 0 else COMMERCIAL_SHAPE
    h = np.asarray(hours, dtype=np.float64) % 24.0
    shape: NDArray[np.float64] = np.interp(h, np.arange(25), np.append(table, table[0]))
    if kind == 1:
        base = _WEEKEND_COMMERCIAL_BASE
        shape = np.where(weekday, shape, base + 0.5 * (shape - base).clip(min=0) + (shape - base).clip(max=0))
    return shape


def season(date: dt.date) -> str:
    """'summer' (June-September), 'winter' (December-March) or 'shoulder'."""
    return "summer" if 6 <= date.month <= 9 else "winter" if date.month in (12, 1, 2, 3) else "shoulder"


def season_peak_mw(scenario: Scenario) -> float:
    """The state's peak for the date at scale 1.0: demand.peak_mw, or the season's Gold Book peak
    (shoulder months: the winter peak), before any heat wave."""
    if scenario.demand.peak_mw is not None:
        return scenario.demand.peak_mw
    sys_ = data.system()
    return sys_["summer_peak"] if season(scenario.scenario.date) == "summer" else sys_["winter_peak"]


def _hourly_shape(season_name: str, weekday: bool) -> np.ndarray:
    shapes = data.load_shapes()
    day = "weekday" if weekday else "weekend"
    if season_name == "shoulder":
        mean: np.ndarray = (np.array(shapes[f"summer_{day}"]) + np.array(shapes[f"winter_{day}"])) / 2
        return mean
    return np.array(shapes[f"{season_name}_{day}"])


def total_load_mw(scenario: Scenario) -> np.ndarray:
    """The statewide load per tick (MW, at the scenario's scale): the season's hourly shape for
    each tick's day type, linearly interpolated, x the season's peak x the heat wave's uplift;
    or the scenario's own load series."""
    from scowl.model.series import load_series

    own = load_series(scenario)
    if own is not None:
        return own["total"]
    tl = timeline(scenario)
    s = season(scenario.scenario.date)
    h = tl.local_hour % 24.0
    out = np.empty(len(h))
    for wd in (True, False):
        sel = tl.weekday == wd
        if sel.any():
            table = _hourly_shape(s, wd)
            out[sel] = np.interp(h[sel], np.arange(25), np.append(table, table[0]))
    return out * season_peak_mw(scenario) * demand_uplift(scenario) * scenario.scenario.scale


def class_shapes(scenario: Scenario) -> np.ndarray:
    """(ticks + 1, 2) fraction of each class's summer-peak demand (residential, commercial) at
    each tick, so that the classes plus the fixed loads make `total_load_mw` exactly."""
    from scowl.model.series import load_series

    tl = timeline(scenario)
    n_res, n_com = consumer_counts(scenario)
    kw_res, kw_com = mean_peak_kw()
    peak_res, peak_com = n_res * kw_res / 1000.0, n_com * kw_com / 1000.0
    own = load_series(scenario)
    if own is not None and "residential" in own:
        return np.stack([own["residential"] / max(peak_res, 1e-12), own["commercial"] / max(peak_com, 1e-12)], axis=1)
    variable = total_load_mw(scenario) - sum(fixed_loads_mw(scenario).values())
    r = peak_res * load_shape(tl.local_hour, tl.weekday, 0)
    c = peak_com * load_shape(tl.local_hour, tl.weekday, 1)
    k = np.clip(variable, 0.0, None) / np.maximum(r + c, 1e-12)
    return np.stack([r * k / max(peak_res, 1e-12), c * k / max(peak_com, 1e-12)], axis=1)


def fixed_loads_mw(scenario: Scenario) -> dict[str, float]:
    """Industrial and transportation demand (MW), fixed over the day, at the scenario's scale."""
    c = data.consumers()
    s = scenario.scenario.scale
    return {k: v["summer_peak_mw"] * s for k, v in c.items() if v["load"] == "fixed"}


def expected_demand_mw(scenario: Scenario) -> dict[str, np.ndarray]:
    """Statewide demand per tick (MW) in expectation, computed analytically (no consumers built):
    residential, commercial, one entry per fixed load, and total. Cheap at any scale."""
    n_res, n_com = consumer_counts(scenario)
    kw_res, kw_com = mean_peak_kw()
    shape = class_shapes(scenario)
    out = {
        "residential": n_res * kw_res / 1000.0 * shape[:, 0],
        "commercial": n_com * kw_com / 1000.0 * shape[:, 1],
    }
    for k, mw in fixed_loads_mw(scenario).items():
        out[k] = np.full(len(shape), mw)
    out["total"] = functools.reduce(operator.add, out.values())  # the same order of additions as sum()
    return out


@dataclass(frozen=True)
class DemandShares:
    """Constant split of every consumer's demand: fixed + sum(deferrable) + responsive = 1."""

    fixed: float
    deferrable: tuple[tuple[str, float, int], ...]  # (end use, share, deferral window in seconds)
    responsive: float

    def as_dict(self) -> dict[str, Any]:
        return {"fixed": self.fixed, "responsive": self.responsive,
                "deferrable": {load: {"share": share, "window_s": window} for load, share, window in self.deferrable}}


def demand_shares(scenario: Scenario) -> DemandShares:
    uses = data.end_uses()
    fixed = sum(share for _, share, window in uses if window == 0)
    deferrable_total = sum(share for _, share, window in uses if window > 0)
    dr = scenario.scenario.demand_responsive_share
    keep = (deferrable_total - dr) / deferrable_total * scenario.demand.deferrable_scale
    fixed += (deferrable_total - dr) * (1.0 - scenario.demand.deferrable_scale)
    return DemandShares(fixed, tuple((load, share * keep, window) for load, share, window in uses if window > 0), dr)


class DemandModel:
    """Steps the demand of a population, one tick at a time.

    `DemandModel(population, scenario, repo=None, start_tick=0)`; `step(tick)` -> float32 kW per
    consumer (the same array object every tick, overwritten). The first call must be
    `step(start_tick)`, then consecutive ticks; the state at start_tick is drawn from the AR(1)'s
    stationary distribution (so runs starting at different ticks differ, runs starting at the same
    tick are identical, under any sharding).

    The AR(1) state depends on nothing but the seed and the tick, so the next tick's can be moved
    ahead of time, a block at a time (`advance(tick + 1, blocks=1)`, e.g. while a population waits
    for its trackers); `step` then moves what is left and only turns the state into demand. The
    values are the same either way (every operation is per consumer).
    """

    def __init__(self, population: Population, scenario: Scenario, repo: StreamRepo | None = None, start_tick: int = 0) -> None:
        repo = repo or StreamRepo(scenario.seed)
        self.population = population
        self.scenario = scenario
        d = scenario.demand
        self._shape = class_shapes(scenario)
        self._sigma = np.array([d.residential_variation, d.commercial_variation])
        self.phi = np.float32(ar1_phi(scenario.tick_seconds, d.correlation_minutes * 60))
        self._k = np.float32(np.sqrt(1.0 - float(self.phi) ** 2))
        self._init = repo.counter("demand_init")
        self._innov = repo.counter("demand_innovation")
        self.start_tick = start_tick
        self.tick = start_tick - 1
        self._ahead = 0  # consumers [0, _ahead) whose state is at tick + 1 already (advance)
        self.state = np.zeros(len(population), dtype=np.float32)
        self.kw = np.zeros(len(population), dtype=np.float32)  # (calloc'd: resident only once written)
        self.shares = demand_shares(scenario)
        kind = population.kind
        n_res = int(np.count_nonzero(kind == 0))
        #: (start, stop) of each class's consumers when homes come first, then commercial buildings
        self._runs: tuple[tuple[int, int], ...] | None = (
            ((0, n_res), (n_res, len(kind))) if not np.any(kind[:n_res]) and np.all(kind[n_res:] == 1) else None)

    @property
    def nbytes(self) -> int:
        return self.state.nbytes + self.kw.nbytes

    def _demand_into(self, out: np.ndarray, state: np.ndarray, a: int, b: int, a_k: np.ndarray, b_k: np.ndarray) -> None:
        """out = b_k[kind] x state + a_k[kind] for consumers a..b: over each class's run of
        consecutive consumers when the classes come in runs (a shard's homes, then its
        commercial buildings), else by each consumer's class."""
        if self._runs is None:
            kind = self.population.kind[a:b]
            np.take(b_k, kind, out=out, mode="clip")  # (classes in range; mode="raise" with out= is buffered)
            out *= state
            out += np.take(a_k, kind)
            return
        for k, (lo, hi) in enumerate(self._runs):
            lo, hi = max(lo, a), min(hi, b)
            if lo < hi:
                np.multiply(state[lo - a:hi - a], b_k[k], out=out[lo - a:hi - a])
                out[lo - a:hi - a] += a_k[k]

    def step(self, tick: int, out: np.ndarray | None = None) -> np.ndarray:
        """Demand at `tick` (kW per consumer), into `out` (float32, one per consumer) when given,
        else into the model's own array (untouched, so never resident, when a caller always gives one)."""
        self.advance(tick)
        shape = self._shape[tick]
        a_k = shape.astype(np.float32)  # per class: kw = base x max(0, a + b x state)
        b_k = (shape * self._sigma).astype(np.float32)
        out = self.kw if out is None else out
        n = len(self.state)
        for a in range(0, n, BLOCK):  # in blocks: no n-wide temporary
            b = min(n, a + BLOCK)
            o = out[a:b]
            self._demand_into(o, self.state[a:b], a, b, a_k, b_k)
            np.maximum(o, 0, out=o)
            o *= self.population.base_kw[a:b]
        self.tick = tick
        self._ahead = 0
        return out

    def advance(self, tick: int, blocks: int | None = None) -> bool:
        """Move the AR(1) state of the next `blocks` blocks of BLOCK consumers (None: of all that
        are left) to `tick`, the tick after the last one stepped; True once every consumer's is there."""
        if tick != self.tick + 1:
            raise ValueError(f"DemandModel: tick {tick}: expected tick {self.tick + 1} (ticks go one at a time from {self.start_tick})")
        if not 0 <= tick <= self.scenario.ticks:
            raise ValueError(f"DemandModel: tick {tick} outside [0, {self.scenario.ticks}]")
        pop = self.population
        n = len(pop)
        stop = n if blocks is None else min(n, self._ahead + blocks * BLOCK)
        if self._ahead >= stop:
            return self._ahead >= n
        m = min(stop - self._ahead, SCRATCH)
        eps, bits, scratch = np.empty(m, np.float32), np.empty(m, np.uint64), np.empty(m, np.uint64)
        for a in range(self._ahead, stop, SCRATCH):  # in pieces, into reused buffers: no wider temporary
            b = min(stop, a + SCRATCH)
            state, e = self.state[a:b], eps[: b - a]
            if tick == self.start_tick:
                self._init.centered_into(pop.index_at(a, b), tick, state, bits[: b - a], scratch[: b - a])
            else:
                self._innov.centered_into(pop.index_at(a, b), tick, e, bits[: b - a], scratch[: b - a])
                e *= self._k
                state *= self.phi
                state += e
        self._ahead = stop
        return stop >= n
