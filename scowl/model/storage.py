"""Storage: electric vehicles with 80 kWh batteries (facts), as arrays and pure functions.

The mix year's EV count (1,056,000 in 2030; the facts give none for 2022) x scale is spread over
homes: a home owns an EV when a counter draw keyed by its global index falls below
EVs / homes (12.4 % in 2030), so shards agree. Each EV leaves home around ev_departure_hour and
plugs back in around ev_arrival_hour (normal, std ev_spread_hours, at least an hour away), except a share ev_home_share that stays
home all day;
while away it uses ev_trip_kwh spread over the time away. Plugged in, it charges or discharges at
up to ev_charge_kw, within [0, 80 kWh]; below ev_sleep_soc it sleeps (will not discharge).

Per EV (bytes): owner 4 (uint32 global consumer index), stored_kwh 4 (float32), depart_min 2 and
arrive_min 2 (uint16 minute of the day) = 12 bytes, about 1.5 bytes per consumer in 2030.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from scowl.model import data
from scowl.model.population import RESIDENTIAL, Population
from scowl.streams import StreamRepo

if TYPE_CHECKING:
    from scowl.config import Scenario

__all__ = ["EVFleet", "asleep", "build_evs", "drive", "ev_share", "plugin_availability"]


def ev_share(scenario: Scenario) -> float:
    """Fraction of homes that own an EV in the mix year (EVs / residential units)."""
    evs = data.der_ev(scenario.scenario.mix_year)["evs"] or 0.0
    share: float = evs / data.consumers()["residential"]["count"]
    return share


@dataclass(frozen=True)
class EVFleet:
    owner: np.ndarray
    stored_kwh: np.ndarray
    depart_min: np.ndarray
    arrive_min: np.ndarray
    capacity_kwh: float
    rate_kw: float
    sleep_kwh: float
    trip_kwh: float

    def __len__(self) -> int:
        return len(self.owner)

    @property
    def nbytes(self) -> int:
        return self.owner.nbytes + self.stored_kwh.nbytes + self.depart_min.nbytes + self.arrive_min.nbytes

    def plugged(self, minute_of_day: float) -> np.ndarray:
        """True for EVs at home (plugged in) at this minute of the local day."""
        m = minute_of_day % 1440
        return ~((self.depart_min <= m) & (m < self.arrive_min))

    @property
    def storage_mwh(self) -> float:
        return len(self) * self.capacity_kwh / 1000.0


def build_evs(scenario: Scenario, population: Population, repo: StreamRepo | None = None) -> EVFleet:
    """The EVs owned by the homes of `population` (identical values under any sharding)."""
    repo = repo or StreamRepo(scenario.seed)
    st = scenario.storage
    cap = float(data.der_ev(2030)["ev_battery_kwh"])
    homes = population.index[population.kind == RESIDENTIAL]
    owns = repo.counter("ev_owner").uniform(homes) < np.float32(ev_share(scenario))
    owner = homes[owns]
    sp = st.ev_spread_hours * 60
    dep = np.clip(st.ev_departure_hour * 60 + sp * repo.counter("ev_depart").normal(owner), 0, 1380)
    arr = np.clip(st.ev_arrival_hour * 60 + sp * repo.counter("ev_arrive").normal(owner), 0, 1439)
    arr = np.maximum(arr, dep + 60)
    home = repo.counter("ev_home").uniform(owner) < np.float32(st.ev_home_share)
    dep, arr = np.where(home, 0, dep), np.where(home, 0, arr)  # depart == arrive: never away
    stored0 = np.clip(st.ev_initial_soc + 0.1 * repo.counter("ev_soc").centered(owner), st.ev_sleep_soc, 1.0) * cap
    return EVFleet(owner, stored0.astype(np.float32), dep.astype(np.uint16), arr.astype(np.uint16),
                   cap, st.ev_charge_kw, st.ev_sleep_soc * cap, st.ev_trip_kwh)


def plugin_availability(scenario: Scenario, hours: ArrayLike) -> NDArray[np.float64]:
    """Expected fraction of EVs plugged in at local `hours`: the share staying home, plus the
    others when 1 - P(departed) x P(not yet back)."""
    st = scenario.storage
    sd = max(st.ev_spread_hours, 1e-6) * math.sqrt(2)
    h = np.asarray(hours, dtype=np.float64) % 24
    erf = np.vectorize(math.erf)
    left = 0.5 * (1 + erf((h - st.ev_departure_hour) / sd))
    back = 0.5 * (1 + erf((h - st.ev_arrival_hour) / sd))
    share: NDArray[np.float64] = st.ev_home_share + (1.0 - st.ev_home_share) * (1.0 - left * (1.0 - back))
    return share


def drive(stored_kwh: ArrayLike, away: ArrayLike, trip_kwh: float, away_minutes: ArrayLike, dt_s: float) -> NDArray[np.float32]:
    """Energy used on the road this tick: trip_kwh spread evenly over each EV's time away.
    Returns the new state of charge, kWh (never below 0)."""
    use = np.where(away, trip_kwh * (dt_s / 60.0) / np.maximum(np.asarray(away_minutes, dtype=np.float32), 1.0), 0.0)
    return np.maximum(np.asarray(stored_kwh, dtype=np.float32) - use, 0.0).astype(np.float32)


def asleep(stored_kwh: ArrayLike, sleep_kwh: float) -> NDArray[np.bool_]:
    """True for EVs too depleted to discharge (they only take charge until they wake)."""
    return np.asarray(stored_kwh) < sleep_kwh
