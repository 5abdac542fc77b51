"""The storage fleet's battery physics (scowl.model.hubs): setpoints, output and a tick's
settlement of the EVs' state of charge, computed by hand, without sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.model.hubs import build_hubs, hub_limits_mw, hub_output_mw, hub_setpoint_mw, settle_hubs
from scowl.model.storage import EVFleet


def fleet(stored_kwh) -> EVFleet:
    n = len(stored_kwh)
    return EVFleet(owner=np.arange(n, dtype=np.uint32), stored_kwh=np.asarray(stored_kwh, dtype=np.float32),
                   depart_min=np.zeros(n, dtype=np.uint16), arrive_min=np.zeros(n, dtype=np.uint16),
                   capacity_kwh=80.0, rate_kw=10.0, sleep_kwh=8.0, trip_kwh=10.0)


def test_a_setpoint_stays_within_what_the_evs_can_give_and_take():
    target = np.array([0.05, -0.05, 0.004])
    cap, avail = np.array([0.02, 0.02, 0.02]), np.array([0.01, 0.01, 0.01])
    assert hub_setpoint_mw(target, cap, avail).tolist() == [0.01, -0.02, 0.004]
    assert hub_output_mw(np.array([0.01, -0.02, 0.004]), avail).tolist() == [0.01, 0.0, 0.004]


def test_settling_moves_the_state_of_charge_by_what_was_delivered_and_charged():
    # hub 0 = EVs 0, 2 (discharging: its tree drew 0.015 MW); hub 1 = EVs 1, 3 (charging 0.012 MW)
    h = build_hubs(fleet([40.0, 40.0, 40.0, 75.0]), 2)
    plugged = np.ones(4, bool)
    dis, chg = hub_limits_mw(h, plugged, tick_hours=1.0)
    assert dis.tolist() == pytest.approx([0.020, 0.020]) and chg.tolist() == pytest.approx([0.020, 0.015])
    setpoint = hub_setpoint_mw(np.array([0.02, -0.012]), chg, dis)
    before = h.stored_kwh.sum()
    charged, delivered = settle_hubs(h, setpoint, np.array([0.015, 0.0]), chg, plugged, tick_hours=1.0)
    assert delivered == pytest.approx(0.015) and charged == pytest.approx(0.012)
    # each hub's power shared in proportion to its EVs' limits: 7.5 kWh from each of EVs 0 and 2;
    # EV 1 may take 10 kW, EV 3 only 5 (its battery is nearly full): 8 and 4 kWh
    assert h.stored_kwh.tolist() == pytest.approx([32.5, 48.0, 32.5, 79.0])
    assert h.stored_kwh.sum() == pytest.approx(before + 1000 * (charged - delivered)), "the books close"


def test_a_blacked_out_hub_delivers_nothing_and_a_charging_hub_takes_at_most_its_capacity():
    h = build_hubs(fleet([40.0, 79.0]), 2)
    plugged = np.ones(2, bool)
    _, chg = hub_limits_mw(h, plugged, tick_hours=1.0)
    charged, delivered = settle_hubs(h, np.array([0.01, -0.5]), np.array([0.0, 0.0]), chg, plugged, tick_hours=1.0)
    assert delivered == 0.0
    assert charged == pytest.approx(0.001), "EV 1 had 1 kWh of room"
    assert h.stored_kwh.tolist() == pytest.approx([40.0, 80.0])
