"""EVs: 80 kWh batteries, plug-in availability over the day, driving, sleep."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import asleep, build_grid, drive, ev_share, plugin_availability


def test_ev_fleet_size_and_battery():
    sc = override(load_scenario(packaged_scenarios()["ny2030"]), {"scenario.scale": 0.01})
    evs = build_grid(sc).storage
    assert evs.capacity_kwh == 80.0
    assert len(evs) == pytest.approx(1_056_000 * 0.01, rel=0.03)
    assert ev_share(override(sc, {"scenario.mix_year": 2022})) == 0.0
    assert np.all(evs.stored_kwh <= 80.0) and np.all(evs.stored_kwh >= evs.sleep_kwh)
    for hour in (3, 9, 13, 19, 23):
        assert evs.plugged(hour * 60).mean() == pytest.approx(plugin_availability(sc, hour), abs=0.02)
    assert plugin_availability(sc, 3.0) > 0.95 and plugin_availability(sc, 13.0) < 0.6


def test_asleep_and_driving():
    assert asleep(np.array([3.0, 5.0]), 4.0).tolist() == [True, False]
    assert drive(np.array([10.0]), np.array([True]), 10.0, np.array([10]), 300)[0] == pytest.approx(5.0)  # 5 of 10 minutes away
