"""The fleet from installed capacity ([generation] fleet_method = "capacity", the default).

Each type's MW is its installed summer capability in the mix year (data/fleet_capacity.csv:
2022 from NYISO Power Trends 2020 with Indian Point 3 retired, 2030 = 2022 + the CLCPA targets,
every assumption written there) x scale; its unit count is the Gold Book's at every scale, the
units shrunk with the scale, so a 5 % New York keeps New York's structure (its largest unit is
4 % of the peak, outages and trips are the same relative events as at full scale); only when
that would leave fewer than MIN_CONSUMERS_PER_UNIT consumers per generator are the counts
thinned evenly (at least one unit a type; distributed solar: MW / distributed_solar_peer_mw). Units are
sized at the quantiles of the type's size distribution (data/unit_sizes.csv: lognormal from the
Gold Book's mean and median, or even between a min and max), gas and petroleum drawing from the
thermal technologies (combined cycle, steam, CT, aeroderivative, IC) by their unit counts, then
scaled so the type's total is exact. The stress `retirements` then removes the peaker units
(and the peakers' share of the type's MW in the Gold Book table, whatever the scale).
No random draws: the fleet is a function of the scenario alone.

The energy mix is not an input any more: it is what the day's output makes (scowl validate).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.model.types import registry, type_info

#: Each capacity-fleet generator stands for at least this many consumers: below that the Gold
#: Book's unit counts are thinned evenly (a tiny test grid does not get hundreds of generators).
MIN_CONSUMERS_PER_UNIT = 1000
if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["FleetUnits", "capacity_by_type", "capacity_units", "size_quantiles"]


@functools.cache
def capacity_by_type(year: int) -> dict[str, tuple[float, int | None]]:
    """{type: (MW, Gold Book units or None)} at scale 1.0 for 2022 or 2030 (data/fleet_capacity.csv)."""
    out = {}
    for i, r in enumerate(data.table("fleet_capacity")):
        type_info(r["type"], f"data/fleet_capacity.csv row {i + 1}")
        units = r[f"units_{year}"]
        out[r["type"]] = (float(r[f"mw_{year}"]), int(units) if units else None)
    return out


@functools.cache
def _size_rows() -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = {}
    for i, r in enumerate(data.table("unit_sizes")):
        if r["type"] != "thermal":
            type_info(r["type"], f"data/unit_sizes.csv row {i + 1}")
        rows.setdefault(r["type"], []).append(r)
    return rows


def size_quantiles(row: dict[str, str], n: int) -> np.ndarray:
    """n representative unit sizes (MW, ascending) of one unit_sizes.csv row."""
    if n <= 0:
        return np.zeros(0)
    q = (np.arange(n) + 0.5) / n
    if row["size_min"]:
        lo, hi = float(row["size_min"]), float(row["size_max"])
        return lo + (hi - lo) * q if n > 1 else np.array([(lo + hi) / 2])
    mean, median = float(row["mean_mw"]), float(row["median_mw"])
    sigma = float(np.sqrt(2 * np.log(mean / median))) if mean > median else 0.05
    from statistics import NormalDist

    z = np.array([NormalDist().inv_cdf(float(x)) for x in q])
    return median * np.exp(sigma * z)


def _apportion(n: int, weights: ArrayLike) -> NDArray[np.int_]:
    """Largest-remainder split of n by weights (no minimum), ties by position."""
    w = np.asarray(weights, dtype=np.float64)
    ideal = n * w / w.sum()
    counts: NDArray[np.int_] = np.floor(ideal).astype(int)
    for i in np.argsort(-(ideal - counts), kind="stable")[: n - counts.sum()]:
        counts[i] += 1
    return counts


@dataclass(frozen=True)
class FleetUnits:
    """One type's units: sizes (MW) and the technology of each; `retired_mw` what a stress removed."""

    sizes: np.ndarray
    technology: tuple[str, ...]
    retired_mw: float = 0.0


def _thinning(scenario: Scenario, caps: dict[str, tuple[float, int | None]]) -> float:
    """The share of the Gold Book's unit counts a scenario keeps: 1 (every unit, each scaled in
    size) unless that would leave fewer than MIN_CONSUMERS_PER_UNIT consumers per generator."""
    c = data.consumers()
    consumers = sum(round(c[k]["count"] * scenario.scenario.scale) for k in ("residential", "commercial"))
    units = sum(u or 0 for mw, u in caps.values() if mw > 0)
    share: float = min(1.0, consumers / MIN_CONSUMERS_PER_UNIT / max(units, 1))
    return share


def capacity_units(scenario: Scenario) -> dict[str, FleetUnits]:
    """{type: FleetUnits} for every type in registry order (empty for a type without capacity)."""
    s = scenario.scenario
    caps = capacity_by_type(s.mix_year)
    rows = _size_rows()
    retire = scenario.stress.retirements
    thin = _thinning(scenario, caps)
    out = {}
    for t in registry():
        mw, units = caps.get(t.name, (0.0, 0))
        mw *= s.scale
        if mw <= 0:
            out[t.name] = FleetUnits(np.zeros(0), ())
            continue
        if t.name == "distributed solar":
            n = max(1, round(mw / scenario.generation.distributed_solar_peer_mw))
        else:
            n = max(1, round((units or 1) * thin))
        src = rows["thermal"] if t.output == "dispatch" and t.name in ("natural gas-fired", "petroleum-fired") else rows.get(t.name)
        if not src:
            sizes, tech = np.full(n, 1.0), (t.name,) * n
        else:
            per = _apportion(n, [float(r["units"]) for r in src])
            parts = [size_quantiles(r, k) for r, k in zip(src, per)]
            sizes = np.concatenate(parts)
            tech = tuple(r["technology"] for r, k in zip(src, per) for _ in range(k))
        sizes = sizes * mw / sizes.sum()
        retired = 0.0
        if retire and src:
            # the peakers' share of the type's MW in the Gold Book table, so a small-scale fleet
            # loses the same share as the full one (its few units may all be one technology)
            peaker = {r["technology"] for r in src if r["peaker"] == "yes"}
            share = sum(float(r["mw"]) for r in src if r["peaker"] == "yes") / sum(float(r["mw"]) for r in src)
            retired = mw * share
            keep = np.array([x not in peaker for x in tech])
            if keep.any() and not keep.all():
                sizes, tech = sizes[keep], tuple(x for x, k in zip(tech, keep) if k)
            sizes = sizes * (mw - retired) / sizes.sum()
        out[t.name] = FleetUnits(sizes, tech, retired)
    return out
