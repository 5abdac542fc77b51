"""EV hubs and the tracker's storage policy (scowl.model.hubs, scowl.balance.dispatch.storage_setpoints):
limits and shares computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance.dispatch import storage_setpoints
from scowl.model.hubs import build_hubs, ev_power_kw, hub_limits_mw
from scowl.model.storage import EVFleet


def fleet(stored_kwh) -> EVFleet:
    n = len(stored_kwh)
    return EVFleet(owner=np.arange(n, dtype=np.uint32), stored_kwh=np.asarray(stored_kwh, dtype=np.float32),
                   depart_min=np.zeros(n, dtype=np.uint16), arrive_min=np.zeros(n, dtype=np.uint16),
                   capacity_kwh=80.0, rate_kw=10.0, sleep_kwh=8.0, trip_kwh=10.0)


def test_hub_limits_respect_rate_battery_room_sleep_and_plug():
    # four EVs, two hubs (EV j in hub j % 2): hub 0 = EVs 0, 2; hub 1 = EVs 1, 3
    h = build_hubs(fleet([40.0, 9.0, 78.0, 5.0]), 2)
    plugged = np.array([True, True, True, False])
    dis, chg = hub_limits_mw(h, plugged, tick_hours=1.0)
    # discharge: EV0 min(10, 32) = 10, EV2 10; EV1 only 1 kWh above sleep; EV3 unplugged (and asleep)
    assert dis.tolist() == pytest.approx([0.020, 0.001])
    # charge: EV0 10, EV2 only 2 kWh of room; EV1 10; EV3 unplugged
    assert chg.tolist() == pytest.approx([0.012, 0.010])


def test_hub_power_is_shared_by_each_evs_limit_and_capped():
    h = build_hubs(fleet([40.0, 9.0, 78.0, 5.0]), 2)
    plugged = np.array([True, True, True, False])
    kw = ev_power_kw(h, np.array([0.010, -1.0]), plugged, tick_hours=1.0)
    # hub 0 delivers 10 kW of its 20: half of each EV's limit; hub 1 asked for more charge than it can take
    assert kw.tolist() == pytest.approx([-5.0, 10.0, -5.0, 0.0])
    kw = ev_power_kw(h, np.array([-0.006, 0.0]), plugged, tick_hours=1.0)
    assert kw.tolist() == pytest.approx([6.0 * 10 / 12, 0.0, 6.0 * 2 / 12, 0.0])
    with pytest.raises(ValueError, match="hub_mw: expected shape"):
        ev_power_kw(h, np.zeros(3), plugged, 1.0)


def test_driving_uses_trip_energy_only_while_away():
    f = fleet([40.0, 40.0])
    f = EVFleet(f.owner, f.stored_kwh, np.array([0, 480], dtype=np.uint16), np.array([0, 600], dtype=np.uint16),
                f.capacity_kwh, f.rate_kw, f.sleep_kwh, f.trip_kwh)
    h = build_hubs(f, 1)
    assert h.drive(minute_of_day=300.0, dt_s=3600) == 0.0  # both at home
    used = h.drive(minute_of_day=500.0, dt_s=3600)  # EV1 away for 120 minutes: 60 of them this tick
    assert used == pytest.approx(5.0) and h.stored_kwh.tolist() == pytest.approx([40.0, 35.0])


def test_storage_discharges_on_a_deficit_and_charges_under_the_margin_on_a_surplus():
    dis, chg = np.array([3.0, 1.0]), np.array([2.0, 2.0])
    assert storage_setpoints(2.0, dis, chg).tolist() == pytest.approx([1.5, 0.5])  # shared 3:1
    assert storage_setpoints(10.0, dis, chg).tolist() == pytest.approx([3.0, 1.0])  # all it has
    # a 2 MW surplus of required output leaves 2 x 0.9 = 1.8 MW of load room under the margin
    assert storage_setpoints(-2.0, dis, chg, 0.10).tolist() == pytest.approx([-0.9, -0.9])
    assert storage_setpoints(-100.0, dis, chg, 0.10).tolist() == pytest.approx([-2.0, -2.0])
    assert storage_setpoints(0.0, dis, chg).tolist() == [0.0, 0.0]
    assert storage_setpoints(5.0, np.zeros(2), chg).tolist() == [0.0, 0.0]
    with pytest.raises(ValueError, match="discharge_mw >= 0"):
        storage_setpoints(1.0, np.array([-1.0]), np.array([0.0]))
