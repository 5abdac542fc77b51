"""EVs: 80 kWh batteries, plug-in availability over the day, rate/SOC-limited charging, sleep."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.config import load_scenario, override, packaged_scenarios
from scowl.model import asleep, build_grid, charge, drive, ev_share, plugin_availability


def test_ev_fleet_size_and_battery():
    sc = override(load_scenario(packaged_scenarios()["ny2030"]), {"scenario.scale": 0.01})
    evs = build_grid(sc).storage
    assert evs.capacity_kwh == 80.0
    assert len(evs) == pytest.approx(1_056_000 * 0.01, rel=0.03)
    assert ev_share(override(sc, {"scenario.mix_year": 2022})) == 0.0
    assert np.all(evs.soc_kwh <= 80.0) and np.all(evs.soc_kwh >= evs.sleep_kwh)
    for hour in (3, 9, 13, 19, 23):
        assert evs.plugged(hour * 60).mean() == pytest.approx(plugin_availability(sc, hour), abs=0.02)
    assert plugin_availability(sc, 3.0) > 0.95 and plugin_availability(sc, 13.0) < 0.6


def test_charge_respects_rate_capacity_plug_and_sleep():
    soc = np.array([40.0, 79.5, 40.0, 4.3, 40.0], dtype=np.float32)
    power = np.array([50.0, 7.2, -7.2, -7.2, 7.2], dtype=np.float32)
    plugged = np.array([True, True, True, True, False])
    new, p = charge(soc, power, 300, 80.0, 7.2, plugged, sleep_kwh=4.0)
    assert p[0] == pytest.approx(7.2) and new[0] == pytest.approx(40.6)       # rate-limited
    assert new[1] == pytest.approx(80.0) and p[1] == pytest.approx(6.0)      # full
    assert p[2] == pytest.approx(-7.2) and new[2] == pytest.approx(39.4)     # discharge
    assert new[3] == pytest.approx(4.0) and p[3] == pytest.approx(-3.6)      # down to the sleep level only
    assert p[4] == 0 and new[4] == 40.0                                     # not plugged in
    assert asleep(np.array([3.0, 5.0]), 4.0).tolist() == [True, False]
    assert drive(np.array([10.0]), np.array([True]), 10.0, np.array([10]), 300)[0] == pytest.approx(5.0)  # 5 of 10 minutes away
