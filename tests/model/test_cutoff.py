"""Units on their own (scowl.model.cutoff): a gas unit or EV hub whose tracker's setpoint did not
come this tick (a partition) follows its tree's load within what it can reach, computed by hand,
without sockets."""

from __future__ import annotations

import numpy as np
import pytest

from scowl.balance import response
from scowl.model.cutoff import gas_reach_mw, on_own_mw
from scowl.model.hubs import build_hubs, hub_limits_mw, hub_output_mw
from scowl.model.storage import EVFleet

LOW, UNCHOKE = 0.9, 0.8  # the scenario's capacity_low and unchoke thresholds (configs' defaults)


def hubs_of(stored_kwh, n_hubs):
    n = len(stored_kwh)
    evs = EVFleet(owner=np.arange(n, dtype=np.uint32), stored_kwh=np.asarray(stored_kwh, dtype=np.float32),
                  depart_min=np.zeros(n, dtype=np.uint16), arrive_min=np.zeros(n, dtype=np.uint16),
                  capacity_kwh=80.0, rate_kw=10.0, sleep_kwh=8.0, trip_kwh=10.0)
    return build_hubs(evs, n_hubs)


def test_a_cut_off_hub_gives_its_load_from_its_reserve_where_its_frozen_setpoint_would_warn_and_black_out():
    # hub 0 = EVs 0, 2 (40 and 40 kWh: 20 kW for an hour); hub 1 = EVs 1, 3 (10 and 8 kWh: 2 kW, the
    # second asleep at its threshold): the reserve rules of hub_limits_mw decide what each can give
    h = hubs_of([40.0, 10.0, 40.0, 8.0], 2)
    available, _ = hub_limits_mw(h, np.ones(4, bool), tick_hours=1.0)
    assert available.tolist() == pytest.approx([0.020, 0.002])
    frozen = np.array([0.004, 0.001])  # the setpoints the cut froze (the tracker had moved their load away)
    load = np.array([0.012, 0.003])  # what the trees draw during the cut
    cut = np.ones(2, bool)
    before = hub_output_mw(frozen, available)
    warn, _, _ = response.sog_signals(load, before, np.zeros(2, bool), cut, LOW, UNCHOKE)
    assert warn.tolist() == [True, True] and (load > before).all(), "a frozen setpoint: both warn and black out"
    setpoint, output = on_own_mw(frozen, before, load, available, cut)
    assert setpoint.tolist() == pytest.approx([0.012, 0.002]), "each gives its load, at most its available discharge"
    assert output.tolist() == pytest.approx([0.020, 0.002])
    warn, _, _ = response.sog_signals(load, output, np.zeros(2, bool), cut, LOW, UNCHOKE)
    assert warn.tolist() == [False, True], "hub 0 has the reserve: no capacity_low; hub 1 is past its limit"
    assert load[1] > output[1], "a load past the available discharge still blacks the hub out"


def test_a_hub_that_heard_its_tracker_or_charges_with_nothing_drawn_keeps_its_setpoint():
    available = np.array([0.02, 0.02, 0.02])
    frozen = np.array([0.004, -0.01, -0.01])
    output = hub_output_mw(frozen, available)
    setpoint, out = on_own_mw(frozen, output, np.array([0.012, 0.0, 0.005]), available, np.array([False, True, True]))
    assert setpoint.tolist() == pytest.approx([0.004, -0.01, 0.005]), "heard: unchanged; charging, no load: charges on"
    assert out.tolist() == pytest.approx([0.004, 0.0, 0.02]), "a charging hub with a load on it discharges for it"


def test_a_cut_off_gas_unit_follows_its_load_up_its_ramp_and_never_lowers_its_setpoint_on_its_own():
    # setpoints 50, 50, 95, 50 MW; ramp 10; nameplate 100; available 100, 100, 100, 45 (a derating)
    sp, ramp, plate = np.array([50.0, 50.0, 95.0, 50.0]), np.full(4, 10.0), np.full(4, 100.0)
    avail = np.array([100.0, 100.0, 100.0, 45.0])
    reach = gas_reach_mw(sp, ramp, plate, avail)
    assert reach.tolist() == [60.0, 60.0, 100.0, 45.0]
    load = np.array([55.0, 30.0, 99.0, 44.0])
    setpoint, output = on_own_mw(sp, np.minimum(sp, avail), load, reach, np.ones(4, bool))
    assert setpoint.tolist() == [55.0, 50.0, 99.0, 50.0], "up to its load within reach; a lower load keeps it"
    assert output.tolist() == [60.0, 60.0, 100.0, 45.0], "its tree may draw all it can reach this tick"
    # the next tick on its own it reaches further: ramp from the setpoint it now holds
    assert gas_reach_mw(setpoint, ramp, plate, avail).tolist() == [65.0, 60.0, 100.0, 45.0]


def test_negative_loads_or_reach_are_refused():
    with pytest.raises(ValueError, match="load_mw >= 0"):
        on_own_mw(np.zeros(1), np.zeros(1), np.array([-1.0]), np.ones(1), np.ones(1, bool))
