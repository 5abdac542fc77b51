"""The instantiated grid: generators, consumers, fixed loads and storage for one scenario."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike

from scowl.model.demand import DemandModel, expected_demand_mw, fixed_loads_mw
from scowl.model.generation import SupplyModel
from scowl.model.mix import Generators, build_generators
from scowl.model.population import Population, build_population
from scowl.model.storage import EVFleet, build_evs
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["FixedLoads", "Grid", "build_grid"]


@dataclass(frozen=True)
class FixedLoads:
    """Loads with no individual consumers, constant over the day (MW at the scenario's scale)."""

    industrial_mw: float
    transportation_mw: float

    @property
    def total_mw(self) -> float:
        return self.industrial_mw + self.transportation_mw


@dataclass(frozen=True)
class Grid:
    scenario: Scenario
    generators: Generators
    consumers: Population
    fixed_loads: FixedLoads
    storage: EVFleet
    streams: StreamRepo

    def supply(self, indices: ArrayLike | None = None) -> SupplyModel:
        """Available output model for all generators (or those at `indices`)."""
        return SupplyModel(self.generators, self.scenario, self.streams, indices)

    def demand(self, population: Population | None = None, start_tick: int = 0) -> DemandModel:
        """A demand stepper for the whole population (or a shard of it)."""
        return DemandModel(self.consumers if population is None else population, self.scenario, self.streams, start_tick)

    def expected_demand_mw(self) -> dict[str, np.ndarray]:
        return expected_demand_mw(self.scenario)

    def bytes_per_consumer(self, demand: DemandModel | None = None) -> float:
        """Per-consumer state held by the model (population + EVs + demand state) / consumers."""
        n = max(len(self.consumers), 1)
        total = self.consumers.nbytes + self.storage.nbytes
        total += demand.nbytes if demand is not None else 8 * len(self.consumers)
        return total / n


def build_grid(scenario: Scenario, *, start: int = 0, stop: int | None = None) -> Grid:
    """Turn a scenario into its peer population, deterministic for the seed. `start`/`stop`
    build only consumers [start, stop) (and their EVs); generators are always the whole fleet."""
    repo = StreamRepo(scenario.seed)
    gens = build_generators(scenario, repo)
    pop = build_population(scenario, repo, start=start, stop=stop)
    evs = build_evs(scenario, pop, repo)
    fixed = fixed_loads_mw(scenario)
    return Grid(scenario, gens, pop, FixedLoads(fixed["industrial"], fixed["transportation"]), evs, repo)
