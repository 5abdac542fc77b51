"""The grid model: pure, vectorized, no sockets. The actors call into it.

    from scowl.config import load_scenario
    from scowl.model import build_grid

    grid = build_grid(load_scenario(path))          # deterministic for the scenario's seed
    grid.generators                                 # Generators: arrays by generator row
    supply = grid.supply()                          # SupplyModel; supply.available(tick) -> MW
    demand = grid.demand()                          # DemandModel; demand.step(tick) -> kW float32
    grid.storage                                    # EVFleet; drive/asleep are pure functions
    grid.fixed_loads                                # industrial + transportation MW (fixed)

Shards: `build_population(scenario, start=a, stop=b)` (or `indices=`) builds any part of the
population with the same per-consumer values as the whole; `split(population, k)` cuts one.
Generator types, in code order (type_code): natural gas-fired, nuclear, hydroelectric, land-based
wind, utility-scale solar, petroleum-fired, offshore wind, distributed solar; kinds FIXED,
STOCHASTIC, CONTINUOUS. Distributed solar is aggregated generator peers (see mix.py).
"""

from scowl.model.demand import (
    COMMERCIAL_SHAPE,
    RESIDENTIAL_SHAPE,
    DemandModel,
    DemandShares,
    demand_shares,
    expected_demand_mw,
    fixed_loads_mw,
    load_shape,
)
from scowl.model.generation import SupplyModel, ramp_limit, solar_profile
from scowl.model.grid import FixedLoads, Grid, build_grid
from scowl.model.hubs import EVHubs, build_hubs, ev_power_kw, hub_limits_mw, hub_output_mw, hub_setpoint_mw, settle_hubs
from scowl.model.mix import (
    CONTINUOUS,
    FIXED,
    KIND_NAMES,
    STOCHASTIC,
    STORAGE,
    TYPE_CODES,
    TYPE_NAMES,
    Generators,
    build_generators,
    consumer_counts,
    fleet_plan,
    mix_shares,
)
from scowl.model.population import COMMERCIAL, RESIDENTIAL, Population, build_population, mean_peak_kw, split
from scowl.model.solar import NY_LAT, NY_LON, clear_sky_ghi, pv_fraction, solar_elevation
from scowl.model.storage import EVFleet, asleep, build_evs, drive, ev_share, plugin_availability
from scowl.model.timeline import Timeline, timeline

__all__ = [
    "COMMERCIAL", "COMMERCIAL_SHAPE", "CONTINUOUS", "FIXED", "KIND_NAMES", "NY_LAT", "NY_LON",
    "RESIDENTIAL", "RESIDENTIAL_SHAPE", "STOCHASTIC", "STORAGE", "TYPE_CODES", "TYPE_NAMES",
    "DemandModel", "DemandShares", "EVFleet", "EVHubs", "FixedLoads", "Generators", "Grid", "Population",
    "SupplyModel", "Timeline",
    "asleep", "build_evs", "build_hubs", "ev_power_kw", "hub_limits_mw", "hub_output_mw", "hub_setpoint_mw", "settle_hubs", "build_generators", "build_grid", "build_population",
    "clear_sky_ghi", "consumer_counts", "demand_shares", "drive", "ev_share", "expected_demand_mw",
    "fixed_loads_mw", "fleet_plan", "load_shape", "mean_peak_kw", "mix_shares", "plugin_availability",
    "pv_fraction", "ramp_limit", "solar_elevation", "solar_profile", "split", "timeline",
]
