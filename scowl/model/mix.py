"""The generator fleet: `build_generators` builds it by the scenario's [generation] fleet_method,
"capacity" (the default: installed capacity by type, scowl/model/fleet.py) or "notebook" (the
seed notebook's method, kept so its figures stay reproducible, described below). Types, kinds and
names come from the one registry (scowl/model/types.py, data/generator_types.csv).

Notebook method: total nameplate is 41,071 MW x scale, split by each type's share of the mix year's MWh. The
number of units of a type is proportional to (its nameplate / its average facility size), which
reproduces the facts' facility counts (2030 at scale 1: hydro 89, gas 50, nuclear ~10, utility
solar ~77, land wind ~46); the total count is (consumers at this scale) / consumers_per_generator,
with at least one unit for every type present in the mix. Units of a type differ in size by up to
+-unit_size_spread, normalised so the type's total nameplate is exact.

Distributed solar (6.25 kW home systems in the facts) is represented by aggregated
distributed-solar generator peers of `generation.distributed_solar_peer_mw` each (default 56 MW,
the utility-solar unit size = 8,960 home systems): it stays a generator type in the supply stack
and in the trackers' view, without 465,000 extra peers; each peer reports how many home systems
it stands for (`home_systems`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import mmh3
import numpy as np
from numpy.typing import NDArray

from scowl.model import data
from scowl.model.fleet import capacity_units
from scowl.model.types import (
    CONTINUOUS,
    FIXED,
    KIND_NAMES,
    STOCHASTIC,
    STORAGE,
    registry,
    type_info,
)
from scowl.model.zones import deal_zones
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = [
    "CONTINUOUS", "FIXED", "KIND_NAMES", "KIND_OF_TYPE", "STOCHASTIC", "STORAGE", "TYPE_CODES", "TYPE_NAMES",
    "Generators", "build_generators", "consumer_counts", "fixed_factor", "fleet_plan", "mix_shares", "notebook_plan",
]

TYPE_NAMES = tuple(t.name for t in registry())
TYPE_CODES = {t.name: np.uint8(t.code) for t in registry()}
KIND_OF_TYPE = {t.name: t.kind for t in registry()}
#: Generator ids: MurmurHash3 32-bit of the generator's name with the notebook's seed (42).
GENERATOR_ID_SEED = int(data.system()["generator_id_hash_seed"])


def mix_shares(year: int) -> dict[str, float]:
    """Share of the mix year's MWh by type (sums to 1; 0 for a type the notebook's mix lacks)."""
    mwh = data.generation_mix(year)
    for i, t in enumerate(mwh):
        type_info(t, f"data/generation_mix.csv row {i + 1}")
    total = sum(mwh.values())
    return {t: mwh.get(t, 0.0) / total for t in TYPE_NAMES}


def consumer_counts(scenario: Scenario) -> tuple[int, int]:
    """(residential, commercial) consumers at the scenario's scale."""
    return data.consumers_at(scenario.scenario.scale)


def fleet_plan(scenario: Scenario) -> dict[str, tuple[int, float]]:
    """{type: (unit count, total nameplate MW)} for the scenario, types in TYPE_NAMES order."""
    if scenario.generation.fleet_method == "capacity":
        return {t: (len(u.sizes), float(u.sizes.sum())) for t, u in capacity_units(scenario).items()}
    return notebook_plan(scenario)


def notebook_plan(scenario: Scenario) -> dict[str, tuple[int, float]]:
    """The seed notebook's fleet: 41,071 MW x scale split by the mix year's MWh shares."""
    s = scenario.scenario
    shares = mix_shares(s.mix_year)
    total_mw = data.system()["total_capacity"] * s.scale
    units = dict(data.unit_sizes())
    units["distributed solar"] = scenario.generation.distributed_solar_peer_mw
    present = [t for t in TYPE_NAMES if shares[t] > 0]
    n_res, n_com = consumer_counts(scenario)
    n = max(len(present), int(round((n_res + n_com) / s.consumers_per_generator)))
    w = np.array([shares[t] * total_mw / units[t] for t in present])
    counts = _apportion(n, w)
    return {t: ((int(counts[present.index(t)]), shares[t] * total_mw) if t in present else (0, 0.0)) for t in TYPE_NAMES}


def _apportion(n: int, w: np.ndarray) -> NDArray[np.int_]:
    """Largest-remainder apportionment of n seats by weights w, at least one seat each."""
    k = len(w)
    ideal = (n - k) * w / w.sum()
    counts: NDArray[np.int_] = np.floor(ideal).astype(int)
    rem = ideal - counts
    for i in np.argsort(-rem, kind="stable")[: (n - k) - counts.sum()]:
        counts[i] += 1
    return counts + 1


@dataclass(frozen=True)
class Generators:
    """The generator fleet as a table of arrays (one row per generator, index = row).

    name: peer name ("hydroelectric-003"); gen_id: MurmurHash3 32-bit of the name (seed 42);
    type_code: index into TYPE_NAMES; kind: FIXED / STOCHASTIC / CONTINUOUS; nameplate_mw;
    min_mw (continuous: minimum stable output; fixed: its fixed output; stochastic: 0);
    ramp_mw: most a setpoint may move in one tick (continuous units; others: nameplate);
    home_systems: 6.25 kW home systems an aggregated distributed-solar peer stands for (else 0);
    zone: NYISO load zone index (0 = A .. 10 = K, scowl.model.zones.ZONES);
    technology: the unit's technology (data/unit_sizes.csv; the type name under the notebook method).
    """

    name: tuple[str, ...]
    gen_id: np.ndarray
    type_code: np.ndarray
    kind: np.ndarray
    nameplate_mw: np.ndarray
    min_mw: np.ndarray
    ramp_mw: np.ndarray
    home_systems: np.ndarray
    zone: np.ndarray
    technology: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.name)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.gen_id, self.type_code, self.kind, self.nameplate_mw, self.min_mw, self.ramp_mw,
                                      self.home_systems, self.zone))

    def by_type(self) -> dict[str, tuple[int, float]]:
        """{type: (count, nameplate MW)} for every type in TYPE_NAMES order."""
        out = {}
        for code, t in enumerate(TYPE_NAMES):
            sel = self.type_code == code
            out[t] = (int(sel.sum()), float(self.nameplate_mw[sel].sum()))
        return out


def build_generators(scenario: Scenario, repo: StreamRepo) -> Generators:
    """The fleet for a scenario, by its fleet_method: deterministic for its seed (the notebook
    method draws unit sizes from stream "fleet/unit_size"; the capacity method draws nothing)."""
    g = scenario.generation
    names, codes, caps, techs = [], [], [], []
    if g.fleet_method == "capacity":
        units = capacity_units(scenario)
        for t in registry():
            u = units[t.name]
            names += [f"{t.slug}-{i:03d}" for i in range(len(u.sizes))]
            codes += [t.code] * len(u.sizes)
            caps.append(u.sizes)
            techs += list(u.technology)
    else:
        plan = notebook_plan(scenario)
        rng = repo.generator("fleet", "unit_size")
        for t in registry():
            count, total = plan[t.name]
            if count == 0:
                continue
            factor = 1.0 + g.unit_size_spread * (2.0 * rng.random(count) - 1.0)
            caps.append(total * factor / factor.sum())
            names += [f"{t.slug}-{i:03d}" for i in range(count)]
            codes += [t.code] * count
            techs += [t.name] * count
    code = np.array(codes, dtype=np.uint8)
    cap = np.concatenate(caps) if caps else np.zeros(0)
    reg = registry()
    kind = np.array([reg[c].kind for c in code], dtype=np.uint8)
    min_frac = np.array([g.gas_min_fraction if reg[c].min_fraction is None else reg[c].min_fraction for c in code])
    ramp_frac = np.array([g.gas_ramp_per_minute if reg[c].ramp_per_minute is None else reg[c].ramp_per_minute for c in code])
    tick_min = scenario.tick_seconds / 60
    fixed = fixed_factor(scenario, code)
    min_mw = np.where(kind == CONTINUOUS, min_frac * cap, np.where(kind == FIXED, fixed * cap, 0.0))
    ramp = np.where(kind == CONTINUOUS, np.minimum(cap, ramp_frac * tick_min * cap), cap)
    home_kw = data.unit_sizes()["distributed solar"] * 1000.0
    homes = np.where(code == TYPE_CODES["distributed solar"], np.round(cap * 1000.0 / home_kw), 0).astype(np.int64)
    ids = np.array([mmh3.hash(n, GENERATOR_ID_SEED) for n in names], dtype=np.int32)
    zone = deal_zones([reg[c].name for c in code], cap)
    return Generators(tuple(names), ids, code, kind, cap.astype(np.float64), min_mw, ramp, homes, zone, tuple(techs))


def fixed_factor(scenario: Scenario, code: np.ndarray) -> np.ndarray:
    """Output of fixed-kind units as a fraction of nameplate: nuclear the scenario's
    nuclear_factor or, when it is not set, the month's observed factor (data/output_factors.csv);
    other fixed types their month's observed factor. 0 for units of other kinds."""
    month = scenario.scenario.date.month
    out = np.zeros(len(code))
    for t in registry():
        if t.kind != FIXED:
            continue
        sel = code == t.code
        if not sel.any():
            continue
        if t.name == "nuclear" and scenario.generation.nuclear_factor is not None:
            out[sel] = scenario.generation.nuclear_factor
        else:
            out[sel] = data.output_factor(t.name, month)
    return out
